"""Fixtures of the plugin tests: tiny SynthAVS data and a guard for the global registries."""
from __future__ import annotations

import functools
import os
import sys
import tempfile

import pytest

# the project's unit tests are imported by tests/projects/test_gated_bicross_unit.py
pytest.register_assert_rewrite('projects.gated_bicross_fusion.tests')

#: top-level packages whose modules the tests import and must unimport again
PLUGIN_PACKAGES = ('projects', 'catravs_test_plugin_')


@pytest.fixture
def registry_guard():
    """Remove, after the test, what it registered in catravs' registries and the plugin
    modules it imported (``projects.*`` and the generated ``catravs_test_plugin_*``)."""
    from catravs import registry as reg
    registries = [obj for obj in vars(reg).values() if isinstance(obj, reg.CatravsRegistry)]
    for registry in registries:
        registry.import_from_location()
    before = {id(r): set(r._module_dict) for r in registries}
    modules = set(sys.modules)
    try:
        yield
    finally:
        for registry in registries:
            for name in set(registry._module_dict) - before[id(registry)]:
                del registry._module_dict[name]
        for mod in set(sys.modules) - modules:
            if mod.split('.')[0] == 'projects' or mod.startswith(PLUGIN_PACKAGES[1]):
                del sys.modules[mod]


@pytest.fixture(scope='session')
def synthavs_s4(tmp_path_factory) -> str:
    """A tiny SynthAVS S4 dataset (8 train, 4 val, 4 test clips of 64x64)."""
    from catravs.datasets.synthavs import make_synthavs
    root = str(tmp_path_factory.mktemp('synthavs_s4'))
    make_synthavs(root, 's4', num_train=8, num_val=4, num_test=4, image_size=64)
    return root


def tiny_run_options(data_root: str) -> list[str]:
    """``--cfg-options`` for a 1-epoch run on ``data_root`` without worker processes."""
    opts = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'param_scheduler.0.T_max=1', 'default_hooks.logger.interval=1']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.data_root={data_root}',
                 f'{split}_dataloader.batch_size=2', f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False']
    return opts


@functools.cache
def _package_only_path() -> str:
    """A folder that holds only a link to this checkout's ``catravs`` package: on
    PYTHONPATH it makes catravs importable, as an installed package is, but not the
    repository root (so not ``projects``)."""
    folder = tempfile.mkdtemp(prefix='catravs-package-only-')
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.symlink(os.path.join(here, 'catravs'), os.path.join(folder, 'catravs'))
    return folder


def clean_env() -> dict[str, str]:
    """The environment of a user who installed catravs: the package importable, the
    repository root not on the path (the tools must find plugins on their own)."""
    return dict(os.environ, PYTHONPATH=_package_only_path())


@pytest.fixture(autouse=True)
def no_plugin_left_behind():
    """After every test here: no plugin class in the registries, no plugin module imported."""
    yield
    from catravs import registry as reg
    left = [f'{r.name}:{name}' for r in vars(reg).values() if isinstance(r, reg.CatravsRegistry)
            for name, cls in r._module_dict.items()
            if getattr(cls, '__module__', '').startswith(('projects.', PLUGIN_PACKAGES[1]))]
    assert not left, f'plugin modules left registered: {left}'
    mods = [m for m in sys.modules if m.startswith('projects.gated_bicross_fusion.gated_bicross')
            or m.startswith(PLUGIN_PACKAGES[1])]
    assert not mods, f'plugin modules left imported: {mods}'
