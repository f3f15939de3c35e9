"""The one config loader: read a config, apply overrides, import its plugins.

Every tool and the Python API read a config through :func:`load_config`; nothing
else in catravs calls ``Config.fromfile``.

MMEngine's ``Config.fromfile`` imports ``custom_imports`` itself, but a failure
comes out as ``ImportError('Failed to import projects.x')`` followed by the
whole ``sys.path``: it names neither the config nor the real cause, and a
plugin with a syntax error or a name clash escapes as a bare ``SyntaxError`` /
``KeyError``. :func:`load_config` reads the config without its custom imports,
then :func:`import_plugins` imports every plugin and turns each failure into a
:class:`PluginImportError` that names the plugin module, the config file and
the cause (with the original exception chained).

Where plugins are found, without editing ``sys.path``: a plugin's top-level
package (``projects`` in ``projects.my_project.my_pkg``) is imported from
``sys.path`` when it is there (an installed package, ``PYTHONPATH``, the working
directory of ``python -m``/``pytest``); otherwise from the nearest folder of that
name beside the config file or one of its parent folders, and then from the
checkout that holds the ``catravs`` package (its ``projects/``). That folder is
bound as the package (``sys.modules``), so its subpackages import as usual.
"""
from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import os.path as osp
import sys
import warnings
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

from mmengine.config import Config

from catravs.utils.config_checks import check_top_level_keys

__all__ = ['PluginImportError', 'import_plugins', 'load_config']

#: the folder that holds the ``catravs`` package: a checkout's root when catravs runs
#: from source or from an editable install (its ``projects/`` holds the plugins)
CHECKOUT_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.realpath(__file__))))


class PluginImportError(ImportError):
    """A module listed in a config's ``custom_imports`` could not be imported.

    Attributes:
        plugin: the module name as written in ``custom_imports``.
        config: the config file that lists it.
    """

    def __init__(self, message: str, plugin: str, config: str) -> None:
        super().__init__(message, name=plugin)
        self.plugin, self.config = plugin, config


def _is_prefix_of(name: str | None, module: str) -> bool:
    """Whether ``name`` is ``module`` or one of its parent packages."""
    return bool(name) and (module == name or module.startswith(f'{name}.'))


def _missing_module_hint(plugin: str) -> str:
    """Where Python looked for ``plugin``, and what exists there."""
    parts = plugin.split('.')
    top = sys.modules.get(parts[0])
    roots = [osp.dirname(p) for p in getattr(top, '__path__', ())]
    roots += [p for p in sys.path if p and osp.isdir(osp.join(p, parts[0]))]
    if not roots:
        return (f"No folder '{parts[0]}' exists in any sys.path entry, beside the config "
                f'or in one of its parent folders, or in {CHECKOUT_ROOT}; a plugin package '
                'must be installed, on PYTHONPATH, or in one of those folders.')
    root = roots[0]
    found = root
    for part in parts:
        nxt = osp.join(found, part)
        if not (osp.isdir(nxt) or osp.isfile(nxt + '.py')):
            break
        found = nxt
    entries = sorted(e[:-3] if e.endswith('.py') else e for e in os.listdir(found)
                     if not e.startswith(('.', '_')) and
                     (e.endswith('.py') or osp.isdir(osp.join(found, e))))
    holds = f" (it holds: {', '.join(entries[:12])})" if entries else ''
    return (f"Looked in {root}: the deepest existing part of the path is {found}{holds}; "
            'check the spelling in custom_imports against the folder and file names.')


def _describe(plugin: str, err: BaseException) -> str:
    """The cause of a failed plugin import, in one or two sentences."""
    if isinstance(err, ModuleNotFoundError) and _is_prefix_of(err.name, plugin):
        return f"the module '{err.name}' does not exist. {_missing_module_hint(plugin)}"
    if isinstance(err, ModuleNotFoundError):
        return (f"it imports '{err.name}', which is not installed "
                f'(ModuleNotFoundError: {err}).')
    if isinstance(err, SyntaxError):
        where = f'{err.filename}, line {err.lineno}' if err.filename else 'its source'
        return f'{type(err).__name__} in {where}: {err.msg}.'
    # KeyError quotes its message; show the registry's text as written
    text = err.args[0] if isinstance(err, KeyError) and len(err.args) == 1 else err
    return f'{type(err).__name__}: {text}'


def import_plugins(custom_imports: Any, config: str | os.PathLike) -> list[ModuleType | None]:
    """Import the modules of a config's ``custom_imports``.

    Args:
        custom_imports: ``dict(imports=[module names], allow_failed_imports=False)``
            (a single name string is accepted too), or None.
        config: the config file, for error messages.

    Returns:
        The imported modules (None for those skipped under ``allow_failed_imports``).

    Raises:
        PluginImportError: a module could not be imported. The message names the
            module, the config and the cause: a missing module, a missing
            dependency, a syntax error (file and line), or an error raised while
            the module ran, e.g. the registry's ``KeyError`` for a name that is
            already registered. With ``allow_failed_imports=True`` only a missing
            module or dependency (``ImportError``) is skipped, with a warning.
        TypeError: ``custom_imports`` is malformed.
    """
    config = os.fspath(config)
    if not custom_imports:
        return []
    if not hasattr(custom_imports, 'get') or 'imports' not in custom_imports:
        raise TypeError(f'{config}: custom_imports must be dict(imports=[...module names...], '
                        f'allow_failed_imports=False), got {custom_imports!r}')
    imports = custom_imports['imports']
    allow_failed = bool(custom_imports.get('allow_failed_imports', False))
    unknown = set(custom_imports) - {'imports', 'allow_failed_imports'}
    if unknown:
        raise TypeError(f'{config}: custom_imports has unknown keys {sorted(unknown)}; '
                        "allowed: 'imports', 'allow_failed_imports'")
    if isinstance(imports, str):
        imports = [imports]
    if not isinstance(imports, (list, tuple)) or not all(isinstance(m, str) for m in imports):
        raise TypeError(f'{config}: custom_imports.imports must be a list of module names, '
                        f'got {imports!r}')
    modules: list[ModuleType | None] = []
    for plugin in imports:
        try:
            _bind_top_package(plugin.split('.')[0], config)
            modules.append(importlib.import_module(plugin))
        except Exception as err:  # noqa: BLE001 - every cause is reported below
            message = (f"plugin '{plugin}' (custom_imports of config {config}) could not be "
                       f'imported: {_describe(plugin, err)}')
            if allow_failed and isinstance(err, ImportError):
                warnings.warn(f'{message} Skipped (allow_failed_imports=True).', UserWarning,
                              stacklevel=2)
                modules.append(None)
                continue
            raise PluginImportError(message, plugin, config) from err
    return modules


def _search_folders(config: str) -> Iterator[str]:
    """The config's folder, its parents up to the file system root, then the checkout."""
    folder = osp.dirname(osp.abspath(config))
    while True:
        yield folder
        parent = osp.dirname(folder)
        if parent == folder:
            break
        folder = parent
    yield CHECKOUT_ROOT


def _bind_top_package(top: str, config: str) -> None:
    """Make the top-level package ``top`` of a plugin importable without ``sys.path``.

    Nothing happens when ``top`` is imported already or importable from ``sys.path``.
    Otherwise the first folder named ``top`` in :func:`_search_folders` becomes the
    module ``top`` (a regular package if it has an ``__init__.py``, else a namespace
    package); when none exists, the import then fails as usual.
    """
    if top in sys.modules or importlib.util.find_spec(top) is not None:
        return
    for folder in _search_folders(config):
        path = osp.join(folder, top)
        if osp.isdir(path):
            break
    else:
        return
    init = osp.join(path, '__init__.py')
    if osp.isfile(init):
        spec = importlib.util.spec_from_file_location(top, init,
                                                      submodule_search_locations=[path])
    else:
        spec = importlib.machinery.ModuleSpec(top, None, is_package=True)
        spec.submodule_search_locations = [path]
    module = importlib.util.module_from_spec(spec)
    sys.modules[top] = module
    try:
        if spec.loader is not None:
            spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[top]
        raise


def load_config(config: str | os.PathLike | Config,
                cfg_options: Mapping[str, Any] | None = None) -> Config:
    """Read a config as every catravs tool and the Python API do.

    The file (and its ``_base_`` files, which resolve relative to the file that
    names them, whatever the working directory) is read without importing
    ``custom_imports``; ``cfg_options`` are merged; misspelt top-level keys are
    refused; then :func:`import_plugins` imports the plugins (see the module
    docstring for where they are found).

    Args:
        config: a config file, or a :class:`Config` (copied; its plugins are
            imported too).
        cfg_options: overrides, as ``--cfg-options`` takes them
            (``{'train_cfg.max_epochs': 1}``); they may change ``custom_imports``.

    Returns:
        The config.

    Raises:
        FileNotFoundError: the file does not exist.
        catravs.utils.config_checks.ConfigKeyError: a top-level key is a near miss of
            a key the Runner reads.
        PluginImportError: a plugin could not be imported.
    """
    if isinstance(config, Config):
        cfg = config.copy()
        name = cfg.filename or '<Config object>'
    else:
        name = os.fspath(config)
        if not osp.isfile(name):
            raise FileNotFoundError(f'config file {name} does not exist')
        cfg = Config.fromfile(name, import_custom_modules=False)
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    check_top_level_keys(cfg)
    import_plugins(cfg.get('custom_imports'), name)
    return cfg
