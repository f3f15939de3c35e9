"""What each registry and model-part category holds."""
from __future__ import annotations

from catravs.registry import (
    DATASETS,
    HOOKS,
    METRICS,
    MODEL_PART_CATEGORIES,
    MODELS,
    OPTIM_WRAPPERS,
    TRANSFORMS,
    VISUALIZERS,
    category_of,
)


def list_registered() -> dict[str, list[str]]:
    """``{category: sorted names}`` for the model-part categories and the other registries.

    Model parts are grouped by their category base class; the rest of MODELS
    (segmentors, data preprocessors) appears as ``model (other)``.
    """
    MODELS.import_from_location()  # defines the categories and fills MODELS
    listing: dict[str, list[str]] = {name: [] for name in sorted(MODEL_PART_CATEGORIES)}
    listing['model (other)'] = []
    for name, cls in MODELS.module_dict.items():
        category = category_of(cls)
        if category is not None and cls is MODEL_PART_CATEGORIES[category]:
            continue  # the base class itself
        listing[category or 'model (other)'].append(name)
    for registry in (DATASETS, TRANSFORMS, METRICS, HOOKS, OPTIM_WRAPPERS, VISUALIZERS):
        registry.import_from_location()
        listing[registry.name] = list(registry.module_dict)
    return {key: sorted(names) for key, names in listing.items()}
