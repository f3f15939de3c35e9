"""Key table of the released AVSegFormer code's checkpoint (see :mod:`.released_keys`).

The released ``train.py`` saves ``model.module.state_dict()``: a bare state dict with
``backbone.*`` (PVT-v2-b5 in the original PVT naming, or AVSBench's two-branch
``B2_ResNet``), ``vggish.*``, ``head.*`` and ``audio_proj.*``.
:data:`AVSEGFORMER_RELEASED_KEYS` maps every live key onto the model that
``configs/_base_/models/avsegformer_{pvt,r50}.py`` build and names the released code's
dead parameters (with the reason); a key it does not know is refused.
"""
from __future__ import annotations

from .released_keys import PVT_V2_RULES, ReleasedKeyTable, layer_rules, prefixed

__all__ = ['AVSEGFORMER_RELEASED_KEYS', 'catravs_key_to_released',
           'convert_released_state_dict', 'dead_key_reason', 'released_key_to_catravs']

#: (pattern, reason) of the released parameters that never get a gradient.
DEAD_KEYS: tuple[tuple[str, str], ...] = (
    (r'^head\.fpn\.', 'AVSegHead.fpn (SimpleFPN): used only by the commented-out '
     'forward_prediction_head'),
    (r'^head\.attn_fc\.', 'AVSegHead.attn_fc: used only by the commented-out '
     'forward_prediction_head'),
    (r'^backbone\.layer[34]_2\.', "B2_ResNet's second branch (layer3_2, layer4_2): "
     'forward() never runs it'),
)

_ENCODER = {'self_attn.': 'self_attn.', 'norm1.': 'norm.', 'linear1.': 'ffn.net.0.',
            'linear2.': 'ffn.net.3.', 'norm2.': 'ffn.norm.'}
_DECODER = {'self_attn.': 'self_attn.attn.', 'norm1.': 'self_attn.norm.',
            'cross_attn.': 'cross_attn.attn.', 'norm2.': 'cross_attn.norm.',
            'linear1.': 'ffn.net.0.', 'linear2.': 'ffn.net.3.', 'norm3.': 'ffn.norm.'}
_GENERATOR = {'self_attn.': 'self_attn.attn.', 'norm1.': 'self_attn.norm.',
              'cross_attn.': 'cross_attn.attn.', 'norm2.': 'cross_attn.norm.',
              'ffn.0.': 'ffn.net.0.', 'ffn.2.': 'ffn.net.3.', 'norm3.': 'ffn.norm.'}

AVSEGFORMER_RELEASED_KEYS = ReleasedKeyTable(
    'the released AVSegFormer model',
    rules=(
        *layer_rules('head.transformer.encoder.layers', 'neck.layers', _ENCODER),
        *layer_rules('head.transformer.decoder.layers', 'decoder.layers', _DECODER),
        *layer_rules('head.query_generator.layers', 'decoder.query_generator.layers',
                     _GENERATOR),
        ('vggish.{rest}', 'audio_encoder.{rest}'),
        ('audio_proj.{rest}', 'audio_proj.{rest}'),
        ('head.in_proj.{i}.{rest}', 'neck.in_proj.{i}.{rest}'),
        ('head.level_embed', 'neck.level_embed'),
        ('head.lateral_conv.{rest}', 'neck.lateral_conv.{rest}'),
        ('head.out_conv.{rest}', 'neck.out_conv.{rest}'),
        ('head.query_generator.query.weight', 'decoder.query_generator.query.weight'),
        ('head.learnable_query.weight', 'decoder.learnable_query.weight'),
        ('head.fusion_block.{rest}', 'fusion.{rest}'),
        ('head.mlp.layers.{i}.{rest}', 'head.mlp.layers.{i}.{rest}'),
        ('head.fc.{i}.{rest}', 'head.fc.{i}.{rest}'),
        # B2_ResNet: the stem, layer1, layer2 and the first branch are torchvision's ResNet-50
        ('backbone.conv1.{rest}', 'backbone.conv1.{rest}'),
        ('backbone.bn1.{rest}', 'backbone.bn1.{rest}'),
        ('backbone.layer1.{rest}', 'backbone.layer1.{rest}'),
        ('backbone.layer2.{rest}', 'backbone.layer2.{rest}'),
        ('backbone.layer{k}_1.{rest}', 'backbone.layer{k}.{rest}'),
        *prefixed('backbone.', 'backbone.', PVT_V2_RULES),
    ),
    dead=DEAD_KEYS)

dead_key_reason = AVSEGFORMER_RELEASED_KEYS.dead_key_reason
released_key_to_catravs = AVSEGFORMER_RELEASED_KEYS.to_catravs
catravs_key_to_released = AVSEGFORMER_RELEASED_KEYS.to_released
#: ``(state_dict, origins=None) -> (converted, dropped)``; see ReleasedKeyTable.convert
convert_released_state_dict = AVSEGFORMER_RELEASED_KEYS.convert
