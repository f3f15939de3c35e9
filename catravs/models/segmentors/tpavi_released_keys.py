"""Key mapping from a checkpoint of the released TPAVI (AVSBench) code to catravs' TPAVI.

The released ``train.py`` saves ``model.module.state_dict()``: a bare ``Pred_endecoder``
state dict with the backbone (``encoder_backbone.*``: PVT-v2-b5 in the original PVT
naming; or ``resnet.*``: AVSBench's two-branch ``B2_ResNet``), ``conv1-4`` (summed dilated
convolutions), ``tpavi_b1-4``, ``path1-4`` and ``output_conv``; no VGGish.
:func:`convert_released_state_dict` maps every live key onto the model that
``configs/_base_/models/tpavi_{pvt,r50}.py`` build (the TPAVI block's 1x1x1 Conv3d weights
``[O, I, 1, 1, 1]`` become 1x1 Conv2d ``[O, I, 1, 1]``, ``phi``'s a Linear ``[O, I]``),
drops the dead parameters by name (with the reason) and refuses a key it does not know.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Optional

from torch import Tensor

from catravs.models.backbones.pvt_v2 import convert_pvt_v2_to_timm

from .released_state_dict import map_released_state_dict

__all__ = ['DEAD_KEYS', 'LIVE_KEYS', 'dead_key_reason', 'released_key_to_catravs',
           'catravs_key_to_released', 'convert_released_state_dict']

#: (pattern, reason) of the released parameters that never get a gradient.
DEAD_KEYS: tuple[tuple[str, str], ...] = (
    (r'^path4\.resConfUnit1\.', 'path4 is called with one input, so its resConfUnit1 '
     'never runs'),
    (r'^resnet\.layer[34]_2\.', "B2_ResNet's second branch (layer3_2, layer4_2): forward() "
     'never runs it'),
)

_UNIT = {'1': 'skip_unit', '2': 'out_unit'}
_BLOCK = {'align_channel': 'audio_proj', 'norm_layer': 'norm', 'theta': 'theta', 'phi': 'phi',
          'g': 'g', 'W_z.0': 'out_conv', 'W_z.1': 'out_bn'}
_BLOCK_INV = {v: k for k, v in _BLOCK.items()}

#: (released pattern, catravs key or a function of the match), tried in order.
LIVE_KEYS: tuple[tuple[str, str | Callable[[re.Match], str]], ...] = (
    (r'^conv([1-4])\.conv2d_list\.(\d)\.(weight|bias)$',
     lambda m: f'neck.levels.{int(m[1]) - 1}.branches.{m[2]}.{m[3]}'),
    (r'^path([1-4])\.resConfUnit([12])\.(conv[12]\.(weight|bias))$',
     lambda m: f'head.steps.{int(m[1]) - 1}.{_UNIT[m[2]]}.{m[3]}'),
    (r'^tpavi_b([1-4])\.(align_channel|norm_layer|theta|phi|g|W_z\.[01])\.(\w+)$',
     lambda m: f'fusions.{int(m[1]) - 1}.{_BLOCK[m[2]]}.{m[3]}'),
    (r'^output_conv\.([024])\.(weight|bias)$', r'head.output_conv.\1.\2'),
    # B2_ResNet: the stem, layer1, layer2 and the first branch are torchvision's ResNet-50
    (r'^resnet\.((conv1|bn1|layer[12])\..+)$', r'backbone.\1'),
    (r'^resnet\.layer([34])_1\.(.+)$', r'backbone.layer\1.\2'),
    (r'^encoder_backbone\.((patch_embed|block|norm)\d.*)$',
     lambda m: 'backbone.' + next(iter(convert_pvt_v2_to_timm({m[1]: None})))),
)

#: (catravs pattern, released key or a function of the match): the inverse, for messages.
_INVERSE: tuple[tuple[str, str | Callable[[re.Match], str]], ...] = (
    (r'^neck\.levels\.(\d)\.branches\.(\d)\.(.+)$',
     lambda m: f'conv{int(m[1]) + 1}.conv2d_list.{m[2]}.{m[3]}'),
    (r'^head\.steps\.(\d)\.(skip|out)_unit\.(.+)$',
     lambda m: f'path{int(m[1]) + 1}.resConfUnit{1 if m[2] == "skip" else 2}.{m[3]}'),
    (r'^fusions\.(\d)\.(\w+)\.(\w+)$',
     lambda m: f'tpavi_b{int(m[1]) + 1}.{_BLOCK_INV.get(m[2], m[2])}.{m[3]}'),
    (r'^head\.output_conv\.(.+)$', r'output_conv.\1'),
    (r'^backbone\.layer([34])\.(.+)$', r'resnet.layer\1_1.\2'),
    (r'^backbone\.((conv1|bn1|layer[12])\..+)$', r'resnet.\1'),
)


def dead_key_reason(key: str) -> Optional[str]:
    """Why the released code never trains ``key``, or None for a live key."""
    return next((reason for pattern, reason in DEAD_KEYS if re.match(pattern, key)), None)


def released_key_to_catravs(key: str) -> str:
    """The catravs key of a live released key; ``KeyError`` naming an unknown one."""
    for pattern, target in LIVE_KEYS:
        m = re.match(pattern, key)
        if m:
            return target(m) if callable(target) else m.expand(target)
    raise KeyError(f"unknown key '{key}': not a key of the released TPAVI model "
                   '(AVSBench Pred_endecoder)')


def catravs_key_to_released(key: str) -> str:
    """The released key that maps to catravs' ``key`` (for messages; PVT backbone keys and
    keys without a released counterpart are returned as they are)."""
    for pattern, target in _INVERSE:
        m = re.match(pattern, key)
        if m:
            return target(m) if callable(target) else m.expand(target)
    return key


def _convert(key: str, value: Tensor) -> tuple[str, Tensor]:
    new = released_key_to_catravs(key)
    if new.startswith('fusions.') and value.dim() == 5 and value.shape[2:] == (1, 1, 1):
        value = value[..., 0] if not new.endswith('.phi.weight') else value.flatten(1)
    return new, value


def convert_released_state_dict(state_dict: Mapping[str, Tensor],
                                origins: Optional[dict[str, str]] = None
                                ) -> tuple[dict[str, Tensor], dict[str, str]]:
    """``-> (catravs state dict, {dropped released key: reason})``; ``KeyError`` names the
    first unknown key. ``origins``, if given, is filled with each key's released key."""
    return map_released_state_dict(state_dict, dead_key_reason, _convert, origins)
