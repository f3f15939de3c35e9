"""configs/tpavi/metafile.yml: imported by model-index.yml, names the six configs, and carries
the published scores (the AVSBench papers' figures) and the state of the weights."""
import os.path as osp

import yaml

from tests.conftest import REPO_ROOT

METAFILE = osp.join(REPO_ROOT, 'configs', 'tpavi', 'metafile.yml')
#: mIoU / F x 100 as published (ECCV 2022 and the AVSS extension)
PUBLISHED = {
    'tpavi_pvt_s4': (78.7, 87.9), 'tpavi_r50_s4': (72.8, 84.8),
    'tpavi_pvt_ms3': (54.0, 64.5), 'tpavi_r50_ms3': (47.9, 57.8),
    'tpavi_pvt_avss': (29.8, 35.2), 'tpavi_r50_avss': (20.2, 25.2),
}


def test_metafile_lists_the_published_scores_and_the_weights():
    with open(osp.join(REPO_ROOT, 'model-index.yml')) as f:
        assert 'configs/tpavi/metafile.yml' in yaml.safe_load(f)['Import']
    with open(METAFILE) as f:
        models = {m['Name']: m for m in yaml.safe_load(f)['Models']}
    assert set(models) == set(PUBLISHED)
    for name, (miou, fscore) in PUBLISHED.items():
        model = models[name]
        assert osp.isfile(osp.join(REPO_ROOT, model['Config']))
        suffix = '(avsbench)' if name.endswith('_avss') else ''
        (result,) = model['Results']
        assert result['Metrics'] == {f'mIoU{suffix}': miou, f'F-score{suffix}': fscore}
        if name.endswith('_avss'):
            assert model['Weights'].startswith('https://drive.google.com/drive/folders/')
            assert 'tpavi_released_to_catravs.py' in model['Converter']
        else:
            assert model['Weights'].startswith('lost')
