"""The one config loader: every tool and the API read configs through it, and it finds
plugins without editing ``sys.path``."""
from __future__ import annotations

import os.path as osp
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from catravs.apis import load_config
from catravs.apis.runner_setup import set_work_dir
from catravs.registry import MODELS

from .conftest import clean_env

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROJECT_CFG = osp.join(REPO_ROOT, 'projects', 'gated_bicross_fusion', 'configs',
                       'catr_tiny_gated_bicross_synthavs.py')
TINY_CFG = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_tiny_synthavs.py')


def python_files(*folders: str, root: str = REPO_ROOT) -> list[Path]:
    return [p for folder in folders for p in sorted(Path(root, folder).rglob('*.py'))]


SYS_PATH_EDIT = re.compile(r'sys\.path\.(insert|append|extend)\(|sys\.path\s*[+]?=')


def config_reads(root: str = REPO_ROOT) -> list[str]:
    """``file:line`` of every ``Config.fromfile(`` call in ``catravs`` and ``tools`` under
    ``root`` (comments and docstring examples aside)."""
    return [f'{p.relative_to(root)}:{i}'
            for p in python_files('catravs', 'tools', root=root)
            for i, line in enumerate(p.read_text(encoding='utf-8').splitlines(), 1)
            if 'Config.fromfile(' in line and not line.lstrip().startswith(('#', '``'))]


def sys_path_edits(root: str = REPO_ROOT) -> list[str]:
    """``file:line`` of every ``sys.path`` edit in ``catravs`` and ``tools`` under ``root``."""
    return [f'{p.relative_to(root)}:{i}'
            for p in python_files('catravs', 'tools', root=root)
            for i, line in enumerate(p.read_text(encoding='utf-8').splitlines(), 1)
            if SYS_PATH_EDIT.search(line)]


def test_only_the_loader_reads_config_files():
    """``grep -rn "Config.fromfile" catravs tools`` finds the loader only."""
    found = config_reads()
    assert found and all(f.startswith('catravs/apis/config_loader.py:') for f in found), found


def test_no_library_code_or_tool_edits_sys_path():
    assert sys_path_edits() == []


def test_the_check_above_can_fail(tmp_path):
    """The two scans, run on a tree with planted violations, find each one (and only
    those: a comment that mentions the call is no violation)."""
    files = {
        'catravs/apis/config_loader.py': 'cfg = Config.fromfile(path)\n',
        'catravs/models/x.py': 'import sys\n\n\ndef f(cfg):\n'
                               '    sys.path.insert(0, cfg)\n',
        'tools/t.py': '# Config.fromfile(x) is what the loader does\n'
                      'cfg = Config.fromfile(args.config)\nsys.path += [here]\n',
        'docs/ignored.py': 'cfg = Config.fromfile(x)\nsys.path.append(x)\n',
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert config_reads(str(tmp_path)) == ['catravs/apis/config_loader.py:1', 'tools/t.py:2']
    assert sys_path_edits(str(tmp_path)) == ['catravs/models/x.py:5', 'tools/t.py:3']


def test_plugin_beside_the_config_imports_without_sys_path(tmp_path, registry_guard):
    """A plugin package in a folder of the user's own project (not on sys.path, not in
    the catravs checkout) is found beside the config, and sys.path stays as it was."""
    project = tmp_path / 'my_project'
    pkg = project / 'catravs_test_plugin_beside' / 'fusions'
    pkg.mkdir(parents=True)  # the top folder has no __init__.py: a namespace package
    (pkg / '__init__.py').write_text(textwrap.dedent("""
        from catravs.models.fusions import CombinatorialDependenceFusion
        from catravs.registry import MODELS


        @MODELS.register_module()
        class BesideFusion(CombinatorialDependenceFusion):
            pass
        """))
    (project / 'configs').mkdir()
    cfg_file = project / 'configs' / 'beside.py'
    cfg_file.write_text(f'_base_ = [{TINY_CFG!r}]\ncustom_imports = dict(imports='
                        "['catravs_test_plugin_beside.fusions'], allow_failed_imports=False)\n")
    path_before = list(sys.path)
    cfg = load_config(str(cfg_file))
    assert sys.path == path_before
    assert MODELS.get('BesideFusion').__module__ == 'catravs_test_plugin_beside.fusions'
    assert list(sys.modules['catravs_test_plugin_beside'].__path__) == [
        str(project / 'catravs_test_plugin_beside')]
    assert cfg.custom_imports.imports == ['catravs_test_plugin_beside.fusions']


def test_cfg_options_apply_before_the_plugins_are_imported(tmp_path, registry_guard):
    cfg_file = tmp_path / 'plain.py'
    cfg_file.write_text(f'_base_ = [{TINY_CFG!r}]\n')
    cfg = load_config(str(cfg_file), {'custom_imports': dict(
        imports=['projects.gated_bicross_fusion.gated_bicross'], allow_failed_imports=False)})
    assert 'GatedBiCrossFusion' in MODELS.module_dict
    assert cfg.custom_imports.imports == ['projects.gated_bicross_fusion.gated_bicross']


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f'config file {tmp_path}/no.py')):
        load_config(tmp_path / 'no.py')


def test_projects_plugin_from_elsewhere_without_the_repository_on_the_path(tmp_path):
    """An installed catravs, started outside the checkout: the project plugin imports
    from the checkout's projects/ folder, and sys.path is not touched."""
    script = textwrap.dedent(f"""
        import sys
        before = list(sys.path)
        from catravs.apis import load_config
        cfg = load_config({PROJECT_CFG!r})
        assert sys.path == before, 'sys.path changed'
        import projects
        print('projects at', list(projects.__path__))
        print('plugin', sys.modules['projects.gated_bicross_fusion.gated_bicross'].__name__)
        """)
    proc = subprocess.run([sys.executable, '-c', script], cwd=tmp_path, env=clean_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"projects at ['{osp.join(REPO_ROOT, 'projects')}']" in proc.stdout
    assert 'plugin projects.gated_bicross_fusion.gated_bicross' in proc.stdout


@pytest.mark.parametrize('given, config_work_dir, expected', [
    ('given', None, 'given'),
    (None, 'from_config', 'from_config'),
    (None, None, osp.join('./work_dirs', 'catr_tiny_synthavs')),
])
def test_default_work_dir(given, config_work_dir, expected):
    from mmengine.config import Config
    cfg = Config(dict(work_dir=config_work_dir), filename=TINY_CFG)
    set_work_dir(cfg, given)
    assert cfg.work_dir == expected
