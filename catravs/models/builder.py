"""Build model parts from config, checking that each field gets its category."""
from __future__ import annotations

from typing import Any

import torch.nn as nn
from mmengine.registry import DefaultScope

from catravs.registry import MODEL_PART_CATEGORIES, MODELS, SCOPE, category_of


def _lookup(type_name: str) -> type | None:
    with DefaultScope.overwrite_default_scope(SCOPE):
        return MODELS.get(type_name)


def registered_in_category(category: str) -> list[str]:
    """Names of the modules in MODELS that belong to ``category``."""
    MODELS.import_from_location()
    base = MODEL_PART_CATEGORIES[category]
    return sorted(name for name, cls in MODELS.module_dict.items()
                  if isinstance(cls, type) and issubclass(cls, base))


def build_model_part(cfg: dict | nn.Module, category: str, field: str = '') -> nn.Module:
    """Build ``cfg`` from MODELS and check that it belongs to ``category``.

    Args:
        cfg: a config dict with ``type`` (a registered name or a class), or an
            already built module.
        category: one of ``MODEL_PART_CATEGORIES`` (e.g. ``'fusion'``).
        field: the config field being built, for error messages
            (e.g. ``'model.fusion'``).

    Raises:
        KeyError: the type is not registered; the message lists the registered
            types of the category.
        TypeError: the type belongs to another category.
    """
    MODELS.import_from_location()
    if category not in MODEL_PART_CATEGORIES:
        raise KeyError(f"unknown model part category '{category}'; known: "
                       f'{sorted(MODEL_PART_CATEGORIES)}')
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
    base = MODEL_PART_CATEGORIES[category]
    if not issubclass(cls, base):
        actual = category_of(cls) or 'not a model part'
        raise TypeError(
            f"{where}: '{cls.__name__}' ({cls.__module__}) is registered as a "
            f"{actual}, but this field expects a {category} (a subclass of "
            f'{base.__name__}). Registered {category} types: '
            f'{", ".join(registered_in_category(category)) or "none"}.')
    if isinstance(cfg, nn.Module):
        return cfg
    with DefaultScope.overwrite_default_scope(SCOPE):
        return MODELS.build(cfg)
