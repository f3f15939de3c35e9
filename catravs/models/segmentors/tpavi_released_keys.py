"""Key table of the released TPAVI (AVSBench) code's checkpoint (see :mod:`.released_keys`).

The released ``train.py`` saves ``model.module.state_dict()``: a bare ``Pred_endecoder``
state dict with the backbone (``encoder_backbone.*``: PVT-v2-b5 in the original PVT
naming; or ``resnet.*``: AVSBench's two-branch ``B2_ResNet``), ``conv1-4`` (summed dilated
convolutions), ``tpavi_b1-4``, ``path1-4`` and ``output_conv``; no VGGish.
:data:`TPAVI_RELEASED_KEYS` maps every live key onto the model that
``configs/_base_/models/tpavi_{pvt,r50}.py`` build (the TPAVI block's 1x1x1 Conv3d weights
``[O, I, 1, 1, 1]`` become 1x1 Conv2d ``[O, I, 1, 1]``, ``phi``'s a Linear ``[O, I]``:
:func:`block_weight_layout`), names the released code's dead parameters (with the reason)
and refuses a key it does not know.
"""
from __future__ import annotations

from torch import Tensor

from .released_keys import PVT_V2_RULES, ReleasedKeyTable, prefixed

__all__ = ['DEAD_KEYS', 'TPAVI_RELEASED_KEYS', 'block_weight_layout',
           'catravs_key_to_released', 'convert_released_state_dict', 'dead_key_reason',
           'released_key_to_catravs']

#: (pattern, reason) of the released parameters that never get a gradient.
DEAD_KEYS: tuple[tuple[str, str], ...] = (
    (r'^path4\.resConfUnit1\.', 'path4 is called with one input, so its resConfUnit1 '
     'never runs'),
    (r'^resnet\.layer[34]_2\.', "B2_ResNet's second branch (layer3_2, layer4_2): forward() "
     'never runs it'),
)

#: the released TPAVI block's parts -> TPAVIBlock's
_BLOCK = {'align_channel': 'audio_proj', 'norm_layer': 'norm', 'theta': 'theta', 'phi': 'phi',
          'g': 'g', 'W_z.0': 'out_conv', 'W_z.1': 'out_bn'}


def block_weight_layout(key: str, value: Tensor) -> Tensor:
    """A TPAVI block's released 1x1x1 ``Conv3d`` weight ``[O, I, 1, 1, 1]`` in catravs'
    layout: ``[O, I, 1, 1]`` (1x1 ``Conv2d``), ``[O, I]`` for ``phi`` (a ``Linear``);
    every other tensor as it is."""
    if key.startswith('fusions.') and value.dim() == 5 and value.shape[2:] == (1, 1, 1):
        return value.flatten(1) if key.endswith('.phi.weight') else value[..., 0]
    return value


TPAVI_RELEASED_KEYS = ReleasedKeyTable(
    'the released TPAVI model (AVSBench Pred_endecoder)',
    rules=(
        ('conv{l+1}.conv2d_list.{b}.{rest}', 'neck.levels.{l}.branches.{b}.{rest}'),
        ('path{s+1}.resConfUnit1.{rest}', 'head.steps.{s}.skip_unit.{rest}'),
        ('path{s+1}.resConfUnit2.{rest}', 'head.steps.{s}.out_unit.{rest}'),
        *((f'tpavi_b{{i+1}}.{old}.{{rest}}', f'fusions.{{i}}.{new}.{{rest}}')
          for old, new in _BLOCK.items()),
        ('output_conv.{rest}', 'head.output_conv.{rest}'),
        # B2_ResNet: the stem, layer1, layer2 and the first branch are torchvision's ResNet-50
        ('resnet.conv1.{rest}', 'backbone.conv1.{rest}'),
        ('resnet.bn1.{rest}', 'backbone.bn1.{rest}'),
        ('resnet.layer1.{rest}', 'backbone.layer1.{rest}'),
        ('resnet.layer2.{rest}', 'backbone.layer2.{rest}'),
        ('resnet.layer{k}_1.{rest}', 'backbone.layer{k}.{rest}'),
        *prefixed('encoder_backbone.', 'backbone.', PVT_V2_RULES),
    ),
    dead=DEAD_KEYS,
    values=block_weight_layout)

dead_key_reason = TPAVI_RELEASED_KEYS.dead_key_reason
released_key_to_catravs = TPAVI_RELEASED_KEYS.to_catravs
catravs_key_to_released = TPAVI_RELEASED_KEYS.to_released
#: ``(state_dict, origins=None) -> (converted, dropped)``; see ReleasedKeyTable.convert
convert_released_state_dict = TPAVI_RELEASED_KEYS.convert
