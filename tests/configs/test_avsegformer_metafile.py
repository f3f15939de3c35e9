"""The model-index files parse, name existing configs and tools, and carry the published
scores (the issue's figures, copied from the released README) and download links that the
model-zoo page shows too."""
import os.path as osp
import re

import yaml
from mmengine.config import Config

from tests.conftest import REPO_ROOT

METAFILE = osp.join(REPO_ROOT, 'configs', 'avsegformer', 'metafile.yml')
README = osp.join(REPO_ROOT, 'configs', 'avsegformer', 'README.md')
#: mIoU / F as published (released README; issue 18)
PUBLISHED = {
    'avsegformer_pvt_s4': (83.06, 90.5), 'avsegformer_pvt_ms3': (61.33, 73.0),
    'avsegformer_pvt_avss': (37.31, 42.8), 'avsegformer_r50_s4': (76.38, 86.7),
    'avsegformer_r50_ms3': (53.81, 65.6), 'avsegformer_r50_avss': (26.58, 31.5),
}


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def models():
    return load_yaml(METAFILE)['Models']


def test_model_index_imports_existing_metafiles():
    index = load_yaml(osp.join(REPO_ROOT, 'model-index.yml'))
    assert 'configs/avsegformer/metafile.yml' in index['Import']
    for path in index['Import']:
        assert osp.isfile(osp.join(REPO_ROOT, path)), path
        for model in load_yaml(osp.join(REPO_ROOT, path))['Models']:
            assert osp.isfile(osp.join(REPO_ROOT, model['Config'])), (path, model['Config'])
            assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]


def test_every_released_checkpoint_is_listed_with_its_published_scores():
    by_name = {m['Name']: m for m in models()}
    assert set(by_name) == set(PUBLISHED)
    for name, (miou, fscore) in PUBLISHED.items():
        model = by_name[name]
        assert model['In Collection'] == 'AVSegFormer'
        (result,) = model['Results']
        suffix = '(avsbench)' if name.endswith('_avss') else ''
        assert result['Metrics'] == {f'mIoU{suffix}': miou, f'F-score{suffix}': fscore}, name
        assert re.fullmatch(r'https://drive\.google\.com/file/d/[\w-]+/view\?usp=drive_link',
                            model['Weights']), name


def test_configs_and_commands_name_existing_files():
    for model in models():
        config = osp.join(REPO_ROOT, model['Config'])
        assert osp.isfile(config), model['Config']
        cfg = Config.fromfile(config)
        assert cfg.model.type == 'AVSegFormer'
        converter, test = model['Converter'].split(), model['Test'].split()
        assert osp.isfile(osp.join(REPO_ROOT, converter[1])), converter[1]
        assert test[:3] == ['python', 'tools/test.py', model['Config']]
        assert converter[-1] == test[-1] == f'checkpoints/{model["Name"]}.pth'


def test_readme_shows_the_same_links_and_scores():
    text = open(README).read()
    for model in models():
        name = model['Name']
        miou, fscore = PUBLISHED[name]
        row = next(line for line in text.splitlines()
                   if f'[{name}.py]' in line and 'drive.google.com' in line)
        assert f'{miou:.2f} / {fscore:.1f}' in row, name
        assert model['Weights'] in row, name
