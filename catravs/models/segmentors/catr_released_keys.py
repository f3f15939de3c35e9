"""Key table of the released CATR code's checkpoint (see :mod:`.released_keys`).

The released ``train.py`` saves ``Pred_endecoder().state_dict()`` (backbone included,
original PVT naming, no VGGish). :data:`CATR_RELEASED_KEYS` maps every live key to the
model that ``configs/catr/catr_pvt_*.py`` build and names the released code's dead
parameters (with the reason); a key it does not know is refused.
"""
from __future__ import annotations

from .released_keys import PVT_V2_RULES, ReleasedKeyTable, layer_rules, prefixed

__all__ = ['CATR_RELEASED_KEYS', 'convert_released_state_dict', 'dead_key_reason',
           'released_key_to_catravs']

#: (pattern, reason) of parameters that the released forward never uses.
DEAD_KEYS: tuple[tuple[str, str], ...] = (
    (r'^path[1-4]\.', 'FeatureFusionBlock path1-4: built, never called'),
    (r'^conv1\.conv2d_list\.', 'stride-4 neck projection: computed, never read'),
    (r'\.vid_embed_proj\.', 'Conv2d(5, 15680) of an attention block: never called'),
    (r'^fusion_module\.', 'Pred_endecoder.fusion_module: never called'),
    (r'^transformer\.temporal_encoder\.(av_atten|va_atten)\.',
     'Temporal_Encoder-level attention blocks: never called'),
    (r'^transformer\.temporal_encoder\.layers\.2\.va_atten\.',
     "last temporal layer's audio update: computed, never read"),
    (r'^encoder_backbone\.head\.', 'PVT classifier head: not used'),
)

_ENCODER_LAYER = {'self_attn.': 'self_attn.attn.', 'norm1.': 'self_attn.norm.',
                  'linear1.': 'ffn.net.0.', 'linear2.': 'ffn.net.3.', 'norm2.': 'ffn.norm.'}
_DECODER_LAYER = {'self_attn.': 'self_attn.attn.', 'norm1.': 'self_attn.norm.',
                  'multihead_attn.': 'cross_attn.attn.', 'norm2.': 'cross_attn.norm.',
                  'linear1.': 'ffn.net.0.', 'linear2.': 'ffn.net.3.', 'norm3.': 'ffn.norm.'}
_TEMPORAL = 'transformer.temporal_encoder'

CATR_RELEASED_KEYS = ReleasedKeyTable(
    'the released CATR model (Pred_endecoder)',
    rules=(
        ('conv{k+1}.conv2d_list.{j}.{rest}', 'neck.levels.{k}.branches.{j}.{rest}'),
        ('vid_embed_proj.{rest}', 'input_proj.{rest}'),
        ('obj_queries.weight', 'decoder.query_pos.weight'),
        ('transformer.audio_proj.fc.{rest}', 'audio_proj.0.{rest}'),
        ('transformer.audio_proj.layer_norm.{rest}', 'audio_proj.1.{rest}'),
        *layer_rules('transformer.spatial_encoder.layers', 'fusion.spatial_layers',
                     _ENCODER_LAYER),
        (_TEMPORAL + '.layers.{i}.av_atten.multihead_attn.{rest}',
         'fusion.temporal_layers.{i}.video_from_audio.{rest}'),
        (_TEMPORAL + '.layers.{i}.va_atten.multihead_attn.{rest}',
         'fusion.temporal_layers.{i}.audio_from_video.{rest}'),
        *layer_rules(_TEMPORAL + '.layers', 'fusion.temporal_layers',
                     {k: f'encoder.{v}' for k, v in _ENCODER_LAYER.items()}),
        (_TEMPORAL + '.attention_feature.0.{rest}', 'fusion.gate.gate_conv.{rest}'),
        (_TEMPORAL + '.output{k}.{rest}', 'fusion.gate.out{k}.{rest}'),
        *layer_rules('transformer.decoder.layers', 'decoder.layers', _DECODER_LAYER),
        ('transformer.decoder.norm.{rest}', 'decoder.norm.{rest}'),
        ('spatial_decoder.lay{k+1}.{rest}', 'head.pixel_decoder.convs.{k}.0.{rest}'),
        ('spatial_decoder.gn{k+1}.{rest}', 'head.pixel_decoder.convs.{k}.1.{rest}'),
        ('spatial_decoder.adapter{k+1}.{rest}', 'head.pixel_decoder.adapters.{k}.{rest}'),
        ('spatial_decoder.out_lay.{rest}', 'head.pixel_decoder.mask_proj.{rest}'),
        ('instance_kernels_head.layers.{i}.{rest}', 'head.kernel_mlp.layers.{i}.{rest}'),
        ('is_referred_head.{rest}', 'head.class_head.{rest}'),
        *prefixed('encoder_backbone.', 'backbone.', PVT_V2_RULES),
    ),
    dead=DEAD_KEYS)

dead_key_reason = CATR_RELEASED_KEYS.dead_key_reason
released_key_to_catravs = CATR_RELEASED_KEYS.to_catravs
#: ``(state_dict, origins=None) -> (converted, dropped)``; see ReleasedKeyTable.convert
convert_released_state_dict = CATR_RELEASED_KEYS.convert
