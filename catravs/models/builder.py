"""Build model parts from config, checking each field's category and declared interface."""
from __future__ import annotations

import inspect
import re
from typing import Any, Optional

import torch.nn as nn
from mmengine.registry import DefaultScope

from catravs.registry import MODEL_PART_CATEGORIES, MODELS, SCOPE, category_of, interface_of

_FORWARD = re.compile(r'``(forward\(.*?)``', flags=re.S)


def _lookup(type_name: str) -> type | None:
    with DefaultScope.overwrite_default_scope(SCOPE):
        return MODELS.get(type_name)


def registered_in_category(category: str, interface: Optional[type] = None) -> list[str]:
    """Names of the modules in MODELS that belong to ``category`` (and, if given,
    implement ``interface``, a declared interface of it)."""
    MODELS.import_from_location()
    base = interface or MODEL_PART_CATEGORIES[category]
    return sorted(name for name, cls in MODELS.module_dict.items()
                  if isinstance(cls, type) and issubclass(cls, base))


def forward_signature(cls: type) -> str:
    """The ````forward(...) -> ...```` line of ``cls``'s own docstring, whitespace
    collapsed ('' if it has none)."""
    match = _FORWARD.search(cls.__dict__.get('__doc__') or '')
    return ' '.join(match[1].split()) if match else ''


def signature_arity(signature: str) -> int:
    """The number of arguments of a ``forward(a, b[N, C], c=None) -> ...`` line (commas
    inside brackets do not count)."""
    depth, count, seen = 0, 0, False
    for char in signature[signature.index('(') + 1:]:
        if char in '([{':
            depth += 1
        elif char in ')]}':
            if depth == 0:
                break
            depth -= 1
        elif char == ',' and depth == 0:
            count += 1
        elif not char.isspace():
            seen = True
    return count + 1 if seen else 0


def _forward_takes(cls: type, arity: int) -> bool:
    """Whether ``cls.forward`` can be called with ``arity`` positional arguments."""
    try:
        inspect.signature(cls.forward).bind(None, *range(arity))
    except TypeError:
        return False
    return True


def describe_interface(cls: type) -> str:
    """``'Name: forward(...) -> ...'`` of a declared interface (or a part)."""
    signature = forward_signature(cls)
    return f'{cls.__name__}: {signature}' if signature else cls.__name__


def _interface_error(where: str, cls: type, category: str, expects: type) -> TypeError:
    implemented = interface_of(cls)
    own = forward_signature(cls)
    does = describe_interface(implemented)
    if own and own != forward_signature(implemented):
        does += f" (its own docstring: {own})"
    return TypeError(
        f"{where}: '{cls.__name__}' ({cls.__module__}) is a {category}, but not one this "
        f'segmentor can call here. The field expects the interface '
        f'{describe_interface(expects)}; \'{cls.__name__}\' implements {does}. '
        f'Registered {category} types with the interface {expects.__name__}: '
        f'{", ".join(registered_in_category(category, expects)) or "none"}. A new part for '
        f'this field subclasses {expects.__name__}.')


def build_model_part(cfg: dict | nn.Module, category: str, field: str = '',
                     expects: Optional[type] = None) -> nn.Module:
    """Build ``cfg`` from MODELS and check that it belongs to ``category`` and implements
    the interface the caller will use. The checks read the class, before it is built.

    Args:
        cfg: a config dict with ``type`` (a registered name or a class), or an
            already built module.
        category: one of ``MODEL_PART_CATEGORIES`` (e.g. ``'fusion'``).
        field: the config field being built, for error messages
            (e.g. ``'model.fusion'``).
        expects: the declared interface the field requires (a subclass of the
            category's base marked with :func:`catravs.registry.model_part_interface`,
            e.g. :class:`catravs.models.fusions.BaseTokenFusion`); default: the
            category's base (any member).

    Raises:
        KeyError: the type is not registered; the message lists the registered
            types of the category.
        TypeError: the type belongs to another category, or implements another
            interface of it; the message names the expected interface with its
            ``forward`` signature and what the type implements.
    """
    MODELS.import_from_location()
    if category not in MODEL_PART_CATEGORIES:
        raise KeyError(f"unknown model part category '{category}'; known: "
                       f'{sorted(MODEL_PART_CATEGORIES)}')
    base = MODEL_PART_CATEGORIES[category]
    expects = expects or base
    if not issubclass(expects, base):
        raise ValueError(f'expects={expects.__name__} is not an interface of the {category} '
                         f'category (a subclass of {base.__name__})')
    where = field or category
    if isinstance(cfg, nn.Module):
        cls: Any = type(cfg)
    else:
        if not isinstance(cfg, dict) or 'type' not in cfg:
            raise TypeError(f'{where} must be a config dict with a "type" key, got {cfg!r}')
        cls = cfg['type'] if isinstance(cfg['type'], type) else _lookup(cfg['type'])
        if cls is None:
            raise KeyError(
                f"{where}: type '{cfg['type']}' is not registered in catravs' MODELS "
                f'registry. Registered {category} types: '
                f'{", ".join(registered_in_category(category)) or "none"}. '
                "If it comes from a plugin, add it to the config's custom_imports.")
    if not issubclass(cls, base):
        actual = category_of(cls) or 'not a model part'
        raise TypeError(
            f"{where}: '{cls.__name__}' ({cls.__module__}) is registered as a "
            f"{actual}, but this field expects a {category} (a subclass of "
            f'{base.__name__}). Registered {category} types: '
            f'{", ".join(registered_in_category(category)) or "none"}.')
    if not issubclass(cls, expects):
        raise _interface_error(where, cls, category, expects)
    interface = interface_of(cls)
    signature = forward_signature(interface)
    if signature and not _forward_takes(cls, signature_arity(signature)):
        raise TypeError(
            f"{where}: '{cls.__name__}' ({cls.__module__}) subclasses {interface.__name__} "
            f'but its forward{inspect.signature(cls.forward)} cannot be called as the '
            f'interface says: {signature}.')
    if isinstance(cfg, nn.Module):
        return cfg
    with DefaultScope.overwrite_default_scope(SCOPE):
        return MODELS.build(cfg)
