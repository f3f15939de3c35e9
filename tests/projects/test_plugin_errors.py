"""Clear errors for broken plugins: name clashes, failed imports, wrong categories.

Each test writes a small plugin package ``catravs_test_plugin_*`` and a config that
inherits the project config and imports the plugin through ``custom_imports``; the
``registry_guard`` fixture unregisters and unimports everything afterwards.
"""
from __future__ import annotations

import os.path as osp
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mmengine.registry import DefaultScope

from catravs.apis import load_config
from catravs.apis.config_loader import PluginImportError, import_plugins
from catravs.registry import MODELS

from .conftest import clean_env

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROJECT_CFG = osp.join(REPO_ROOT, 'projects', 'gated_bicross_fusion', 'configs',
                       'catr_tiny_gated_bicross_synthavs.py')


def write_plugin(root: Path, package: str, files: dict[str, str]) -> None:
    """Write ``root/package/{name}.py`` for each entry (plus ``__init__.py`` if absent)."""
    pkg = root / package
    pkg.mkdir(parents=True)
    files = {'__init__': '', **files}
    for name, text in files.items():
        (pkg / f'{name}.py').write_text(textwrap.dedent(text))


def write_config(path: Path, imports: list[str], extra: str = '') -> str:
    path.write_text(f'_base_ = [{PROJECT_CFG!r}]\n'
                    f'custom_imports = dict(imports={imports!r}, allow_failed_imports=False)\n'
                    + textwrap.dedent(extra))
    return str(path)


@pytest.fixture
def plugin_root(tmp_path, monkeypatch, registry_guard):
    """A folder on sys.path for generated plugins (removed from sys.path afterwards)."""
    root = tmp_path / 'plugins'
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return root


# ------------------------------------------------------------------ (a) name clash
def test_plugin_reusing_a_registered_name(plugin_root, tmp_path):
    write_plugin(plugin_root, 'catravs_test_plugin_clash', {
        '__init__': 'from .my_fusion import CombinatorialDependenceFusion\n',
        'my_fusion': """
            from catravs.models.fusions import BaseFusion
            from catravs.registry import MODELS


            @MODELS.register_module()
            class CombinatorialDependenceFusion(BaseFusion):
                pass
            """})
    cfg = write_config(tmp_path / 'clash.py', ['catravs_test_plugin_clash'])
    existing = MODELS.get('CombinatorialDependenceFusion')
    with pytest.raises(PluginImportError) as info:
        load_config(cfg)
    msg = str(info.value)
    # the plugin, the config, both classes (modules included), the registry and the category
    assert "plugin 'catravs_test_plugin_clash'" in msg and cfg in msg
    assert ('catravs_test_plugin_clash.my_fusion.CombinatorialDependenceFusion cannot be '
            "registered as 'CombinatorialDependenceFusion' in the catravs 'model' registry") in msg
    assert ('already registered there by catravs.models.fusions.combinatorial_dependence_'
            'fusion.CombinatorialDependenceFusion (category: fusion)') in msg
    assert "@MODELS.register_module(name='MyProjectCombinatorialDependenceFusion')" in msg
    assert isinstance(info.value.__cause__, KeyError)
    assert info.value.plugin == 'catravs_test_plugin_clash' and info.value.config == cfg
    assert MODELS.get('CombinatorialDependenceFusion') is existing  # the original stays


# ------------------------------------------------------------------ (b) failed imports
@pytest.mark.parametrize('case', ['missing_dependency', 'raises_import_error', 'syntax_error',
                                  'missing_module', 'missing_package'])
def test_plugin_that_fails_to_import(plugin_root, tmp_path, case):
    if case == 'missing_dependency':
        write_plugin(plugin_root, 'catravs_test_plugin_dep',
                     {'__init__': 'import catravs_no_such_dependency_xyz\n'})
        plugin, cause = 'catravs_test_plugin_dep', (
            "it imports 'catravs_no_such_dependency_xyz', which is not installed")
    elif case == 'raises_import_error':
        write_plugin(plugin_root, 'catravs_test_plugin_raises',
                     {'__init__': "raise ImportError('needs the optional extra [fancy]')\n"})
        plugin, cause = 'catravs_test_plugin_raises', (
            'ImportError: needs the optional extra [fancy]')
    elif case == 'syntax_error':
        write_plugin(plugin_root, 'catravs_test_plugin_syntax',
                     {'__init__': 'from .fusion import *\n',
                      'fusion': 'x = 1\ndef broken(:\n    pass\n'})
        plugin = 'catravs_test_plugin_syntax'
        cause = (f"SyntaxError in {plugin_root / 'catravs_test_plugin_syntax' / 'fusion.py'}, "
                 'line 2')
    elif case == 'missing_module':
        write_plugin(plugin_root, 'catravs_test_plugin_pkg', {})
        plugin = 'catravs_test_plugin_pkg.no_such_module'
        cause = (f"the module '{plugin}' does not exist. Looked in {plugin_root}: the deepest "
                 f"existing part of the path is {plugin_root / 'catravs_test_plugin_pkg'}")
    else:  # a projects/ plugin that does not exist
        plugin = 'projects.no_such_project.no_such_package'
        cause = "the module 'projects.no_such_project' does not exist"
    cfg = write_config(tmp_path / f'{case}.py', [plugin])
    with pytest.raises(PluginImportError) as info:
        load_config(cfg)
    msg = str(info.value)
    assert msg.startswith(f"plugin '{plugin}' (custom_imports of config {cfg}) could not be "
                          'imported: '), msg
    assert cause in msg, msg
    assert info.value.__cause__ is not None  # the original traceback is kept


def test_allow_failed_imports_skips_missing_modules_with_a_warning(registry_guard):
    with pytest.warns(UserWarning, match=r"plugin 'catravs_test_plugin_absent' .*cfg\.py.*"
                                         r'Skipped \(allow_failed_imports=True\)'):
        mods = import_plugins(dict(imports=['catravs_test_plugin_absent', 'os.path'],
                                   allow_failed_imports=True), 'cfg.py')
    assert mods[0] is None and mods[1] is osp


def test_malformed_custom_imports(registry_guard):
    with pytest.raises(TypeError, match=r'cfg\.py: custom_imports must be dict\(imports='):
        import_plugins(['projects.x'], 'cfg.py')
    with pytest.raises(TypeError, match=r"unknown keys \['import'\]"):
        import_plugins(dict(imports=['os'], **{'import': 1}), 'cfg.py')
    with pytest.raises(TypeError, match='must be a list of module names'):
        import_plugins(dict(imports=[1]), 'cfg.py')


def test_train_tool_names_the_missing_plugin_and_the_config(tmp_path):
    """tools/train.py from another directory: the error names the plugin and the config."""
    cfg = write_config(tmp_path / 'missing_plugin.py', ['projects.no_such_plugin'])
    proc = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), cfg,
         '--work-dir', str(tmp_path / 'work')],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert (f"PluginImportError: plugin 'projects.no_such_plugin' (custom_imports of config "
            f"{cfg}) could not be imported: the module 'projects.no_such_plugin' does not "
            f'exist. Looked in {REPO_ROOT}') in proc.stderr, proc.stderr[-3000:]


# ------------------------------------------------------------------ (c) wrong category
def test_plugin_loss_in_the_fusion_slot(plugin_root, tmp_path):
    write_plugin(plugin_root, 'catravs_test_plugin_loss', {
        '__init__': 'from .losses import PluginL1Loss\n',
        'losses': """
            from catravs.models.losses import BaseLoss
            from catravs.registry import MODELS


            @MODELS.register_module()
            class PluginL1Loss(BaseLoss):
                def forward(self, pred, target):
                    return (pred - target).abs().mean()
            """})
    cfg_file = write_config(
        tmp_path / 'loss_as_fusion.py', ['catravs_test_plugin_loss'],
        "model = dict(fusion=dict(_delete_=True, type='PluginL1Loss'))\n")
    cfg = load_config(cfg_file)
    assert MODELS.get('PluginL1Loss').__module__ == 'catravs_test_plugin_loss.losses'
    with pytest.raises(TypeError) as info, DefaultScope.overwrite_default_scope('catravs'):
        MODELS.build(cfg.model)
    msg = str(info.value)
    assert ("model.fusion: 'PluginL1Loss' (catravs_test_plugin_loss.losses) is registered as "
            'a loss, but this field expects a fusion (a subclass of BaseFusion)') in msg, msg
    assert 'CombinatorialDependenceFusion' in msg  # the fusion types one could use


def test_project_plugin_type_without_custom_imports(tmp_path, registry_guard):
    """Forgetting custom_imports: the error says so."""
    cfg_file = tmp_path / 'no_imports.py'
    cfg_file.write_text(f'_base_ = [{PROJECT_CFG!r}]\ncustom_imports = None\n')
    cfg = load_config(str(cfg_file))
    with pytest.raises(KeyError, match=r"model\.fusion: type 'GatedBiCrossFusion' is not "
                                       r"registered.*add it to the config's custom_imports"), \
            DefaultScope.overwrite_default_scope('catravs'):
        MODELS.build(cfg.model)
