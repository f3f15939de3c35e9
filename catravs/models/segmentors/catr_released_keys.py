"""Key mapping from a checkpoint of the released CATR code to catravs' CATR.

The released ``train.py`` saves ``Pred_endecoder().state_dict()`` (backbone
included, original PVT naming, no VGGish). :func:`convert_released_state_dict`
maps every live key to the model that ``configs/catr/catr_pvt_*.py`` build, drops
the released code's dead parameters by name (with the reason) and refuses a key
it does not know.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from torch import Tensor

from catravs.models.backbones.pvt_v2 import convert_pvt_v2_to_timm

from .released_state_dict import map_released_state_dict

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


def _layer(prefix: str, table: dict[str, str]) -> Callable[[re.Match], str]:
    def rename(m: re.Match) -> str:
        rest = m[2]
        for old, new in table.items():
            if rest.startswith(old):
                return f'{prefix}.{m[1]}.{new}{rest[len(old):]}'
        raise KeyError(m[0])
    return rename


_T = r'^transformer\.'
#: (pattern, catravs key or a function of the match), tried in order.
LIVE_KEYS: tuple[tuple[str, str | Callable[[re.Match], str]], ...] = (
    (r'^conv([2-4])\.conv2d_list\.(\d)\.(.+)$',
     lambda m: f'neck.levels.{int(m[1]) - 1}.branches.{m[2]}.{m[3]}'),
    (r'^vid_embed_proj\.(.+)$', r'input_proj.\1'),
    (r'^obj_queries\.weight$', 'decoder.query_pos.weight'),
    (_T + r'audio_proj\.fc\.(.+)$', r'audio_proj.0.\1'),
    (_T + r'audio_proj\.layer_norm\.(.+)$', r'audio_proj.1.\1'),
    (_T + r'spatial_encoder\.layers\.(\d+)\.(.+)$',
     _layer('fusion.spatial_layers', _ENCODER_LAYER)),
    (_T + r'temporal_encoder\.layers\.(\d+)\.av_atten\.multihead_attn\.(.+)$',
     r'fusion.temporal_layers.\1.video_from_audio.\2'),
    (_T + r'temporal_encoder\.layers\.(\d+)\.va_atten\.multihead_attn\.(.+)$',
     r'fusion.temporal_layers.\1.audio_from_video.\2'),
    (_T + r'temporal_encoder\.layers\.(\d+)\.(.+)$',
     _layer('fusion.temporal_layers', {k: f'encoder.{v}' for k, v in _ENCODER_LAYER.items()})),
    (_T + r'temporal_encoder\.attention_feature\.0\.(.+)$', r'fusion.gate.gate_conv.\1'),
    (_T + r'temporal_encoder\.output([12])\.(.+)$', r'fusion.gate.out\1.\2'),
    (_T + r'decoder\.layers\.(\d+)\.(.+)$', _layer('decoder.layers', _DECODER_LAYER)),
    (_T + r'decoder\.norm\.(.+)$', r'decoder.norm.\1'),
    (r'^spatial_decoder\.lay([1-4])\.(.+)$',
     lambda m: f'head.pixel_decoder.convs.{int(m[1]) - 1}.0.{m[2]}'),
    (r'^spatial_decoder\.gn([1-4])\.(.+)$',
     lambda m: f'head.pixel_decoder.convs.{int(m[1]) - 1}.1.{m[2]}'),
    (r'^spatial_decoder\.adapter([12])\.(.+)$',
     lambda m: f'head.pixel_decoder.adapters.{int(m[1]) - 1}.{m[2]}'),
    (r'^spatial_decoder\.out_lay\.(.+)$', r'head.pixel_decoder.mask_proj.\1'),
    (r'^instance_kernels_head\.layers\.(\d)\.(.+)$', r'head.kernel_mlp.layers.\1.\2'),
    (r'^is_referred_head\.(.+)$', r'head.class_head.\1'),
)


def dead_key_reason(key: str) -> str | None:
    """Why the released code never uses ``key``, or None for a live key."""
    return next((why for pattern, why in DEAD_KEYS if re.search(pattern, key)), None)


def released_key_to_catravs(key: str) -> str:
    """The catravs key of one live key of the released state dict (backbone excluded).

    Raises:
        KeyError: ``key`` is not a key of the released model.
    """
    for pattern, target in LIVE_KEYS:
        match = re.match(pattern, key)
        if match:
            try:
                return target(match) if callable(target) else match.expand(target)
            except KeyError:
                break
    raise KeyError(f"'{key}' is not a key of the released CATR model (Pred_endecoder); "
                   'is this a checkpoint of the released train.py?')


#: keys of the original PVT-v2 naming (whai362/PVT) that the released backbone holds
_PVT_KEY = re.compile(r'^(patch_embed[1-4]\.|block[1-4]\.\d+\.|norm[1-4]\.)')


def convert_released_state_dict(state_dict: Mapping[str, Tensor],
                                origins: dict[str, str] | None = None
                                ) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Map a released ``Pred_endecoder`` state dict to catravs' CATR.

    Read the file with :func:`catravs.models.backbones.pretrained.load_state_dict_file`
    (it removes a DataParallel ``module.`` prefix). Whether the result fits the
    model (no key missing, every shape right) is for the caller to check, e.g. with
    :func:`catravs.engine.strict_loading.check_state_dict_fits`.

    Args:
        state_dict: the released state dict.
        origins: if given, filled with each converted key's released key (for
            messages that name the key of the file).

    Returns:
        ``(converted, dropped)``: the catravs state dict, and each dropped key
        with the reason it is dead in the released code.

    Raises:
        KeyError: a key that is neither live nor known dead (a backbone key
            outside PVT-v2's naming included), named in the message.
    """
    return map_released_state_dict(state_dict, dead_key_reason, _convert_key, origins)


def _convert_key(key: str, value: Tensor) -> tuple[str, Tensor]:
    """One live released key (and its tensor) in catravs' naming."""
    if not key.startswith('encoder_backbone.'):
        return released_key_to_catravs(key), value
    pvt_key = key[len('encoder_backbone.'):]
    if not _PVT_KEY.match(pvt_key):
        raise KeyError(f"'{key}' is not a key of the released PVT-v2 backbone "
                       '(patch_embed1-4, block1-4, norm1-4, head)')
    (new, value), = convert_pvt_v2_to_timm({pvt_key: value}).items()
    return f'backbone.{new}', value
