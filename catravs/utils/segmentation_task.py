"""Binary or semantic: read from a built segmentor, for the tools that serve every method."""
from __future__ import annotations

from typing import Any, Literal

Task = Literal['binary', 'semantic']


def segmentation_task(model: Any) -> Task:
    """``'semantic'`` when ``model`` predicts more than one class, else ``'binary'``.

    Takes a built segmentor (or a model config dict). Reads ``task``, which every
    segmentor takes (``BaseAVSegmentor``); a config dict that leaves it out falls back to
    ``num_classes`` (1 for S4 / MS3, 71 for AVSS), so that callers need not know which
    method they run.
    """
    get = model.get if isinstance(model, dict) else (lambda k, d=None: getattr(model, k, d))
    task = get('task', None)
    if task is not None:
        if task not in ('binary', 'semantic'):
            raise ValueError(f"model.task must be 'binary' or 'semantic', got {task!r}")
        return task
    num_classes = get('num_classes', None)
    if num_classes is None:
        raise ValueError(f'{type(model).__name__} has neither task nor num_classes: cannot '
                         'tell binary from semantic segmentation')
    return 'semantic' if int(num_classes) > 1 else 'binary'


def num_output_classes(model: Any) -> int:
    """Channels of the mask logits: 1 (binary) or the class count (semantic)."""
    get = model.get if isinstance(model, dict) else (lambda k, d=None: getattr(model, k, d))
    return int(get('num_classes', None) or 1)
