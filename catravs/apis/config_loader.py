"""Load a config and import its plugins (``custom_imports``) with clear errors.

MMEngine's ``Config.fromfile`` imports ``custom_imports`` itself, but a failure
comes out as ``ImportError('Failed to import projects.x')`` followed by the
whole ``sys.path``: it names neither the config nor the real cause, and a
plugin with a syntax error or a name clash escapes as a bare ``SyntaxError`` /
``KeyError``. :func:`fromfile_with_plugins` reads the config without its
custom imports, then imports every plugin itself and turns each failure into a
:class:`PluginImportError` that names the plugin module, the config file and
the cause (with the original exception chained).
"""
from __future__ import annotations

import importlib
import os
import os.path as osp
import sys
import warnings
from types import ModuleType
from typing import Any

from mmengine.config import Config

__all__ = ['PluginImportError', 'import_plugins', 'fromfile_with_plugins']


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
    roots = [p for p in sys.path if p and osp.isdir(osp.join(p, parts[0]))]
    if not roots:
        return (f"No folder '{parts[0]}' exists in any sys.path entry. Plugins under "
                "projects/ are found because tools/train.py, tools/test.py and "
                'catravs.apis put the repository root on sys.path; anything else must '
                'be installed or on PYTHONPATH.')
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


def fromfile_with_plugins(filename: str | os.PathLike) -> Config:
    """``Config.fromfile`` whose plugin imports fail with a :class:`PluginImportError`.

    The config (and its ``_base_`` files, which resolve relative to the file that
    names them, whatever the working directory) is read without importing
    ``custom_imports``; then :func:`import_plugins` imports them.
    """
    filename = os.fspath(filename)
    cfg = Config.fromfile(filename, import_custom_modules=False)
    import_plugins(cfg.get('custom_imports'), filename)
    return cfg
