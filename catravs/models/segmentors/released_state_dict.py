"""Released checkpoint -> catravs state dict: the loop that both methods' key maps share."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Optional

from torch import Tensor

__all__ = ['map_released_state_dict']


def map_released_state_dict(
        state_dict: Mapping[str, Tensor],
        dead_key_reason: Callable[[str], Optional[str]],
        convert: Callable[[str, Tensor], tuple[str, Tensor]],
        origins: Optional[dict[str, str]] = None) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Drop the released code's dead keys and map every other one.

    Args:
        state_dict: the released state dict.
        dead_key_reason: ``key -> why it is dead in the released code``, or None for a
            live key.
        convert: ``(released key, tensor) -> (catravs key, tensor)``; raises
            ``KeyError`` naming a key it does not know.
        origins: if given, filled with each converted key's released key (for messages
            that name the key of the file).

    Returns:
        ``(converted, dropped)``: the catravs state dict, and each dropped key with the
        reason it is dead.
    """
    converted, dropped = {}, {}
    for key, value in state_dict.items():
        reason = dead_key_reason(key)
        if reason is not None:
            dropped[key] = reason
            continue
        new, value = convert(key, value)
        converted[new] = value
        if origins is not None:
            origins[new] = key
    return converted, dropped
