"""Key mapping from a checkpoint of the released AVSegFormer code to catravs' AVSegFormer.

The released ``train.py`` saves ``model.module.state_dict()``: a bare state dict with
``backbone.*`` (PVT-v2-b5 in the original PVT naming, or AVSBench's two-branch
``B2_ResNet``), ``vggish.*``, ``head.*`` and ``audio_proj.*``.
:func:`convert_released_state_dict` maps every live key onto the model that
``configs/_base_/models/avsegformer_{pvt,r50}.py`` build, drops the released code's
dead parameters by name (with the reason) and refuses a key it does not know.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from torch import Tensor

from catravs.models.backbones.pvt_v2 import convert_pvt_v2_to_timm

from .released_state_dict import map_released_state_dict

__all__ = ['DEAD_KEYS', 'dead_key_reason', 'released_key_to_catravs',
           'catravs_key_to_released', 'convert_released_state_dict']

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
#: (released prefix of a layer's keys, catravs prefix, renaming of the rest)
_LAYERS = (
    ('head.transformer.encoder.layers', 'neck.layers', _ENCODER),
    ('head.transformer.decoder.layers', 'decoder.layers', _DECODER),
    ('head.query_generator.layers', 'decoder.query_generator.layers', _GENERATOR),
)
#: (pattern, replacement) of the other live keys, tried in order.
_PLAIN = (
    (r'^vggish\.(.+)$', r'audio_encoder.\1'),
    (r'^audio_proj\.(weight|bias)$', r'audio_proj.\1'),
    (r'^head\.(in_proj\.\d\.[01]\.(weight|bias))$', r'neck.\1'),
    (r'^head\.level_embed$', 'neck.level_embed'),
    (r'^head\.((lateral_conv|out_conv)\.[01]\.(weight|bias))$', r'neck.\1'),
    (r'^head\.query_generator\.query\.weight$', 'decoder.query_generator.query.weight'),
    (r'^head\.learnable_query\.weight$', 'decoder.learnable_query.weight'),
    (r'^head\.fusion_block\.(.+)$', r'fusion.\1'),
    (r'^head\.(mlp\.layers\.\d\.(weight|bias))$', r'head.\1'),
    (r'^head\.(fc\.[024]\.(weight|bias))$', r'head.\1'),
    # B2_ResNet: the stem, layer1, layer2 and the first branch are torchvision's ResNet-50
    (r'^backbone\.((conv1|bn1|layer[12])\..+)$', r'backbone.\1'),
    (r'^backbone\.layer([34])_1\.(.+)$', r'backbone.layer\1.\2'),
)
_PVT = re.compile(r'^backbone\.((patch_embed|block|norm)\d.*)$')


def dead_key_reason(key: str) -> str | None:
    """Why the released code never trains ``key``, or None for a live key."""
    return next((reason for pattern, reason in DEAD_KEYS if re.match(pattern, key)), None)


def released_key_to_catravs(key: str) -> str:
    """The catravs key of a live released key; ``KeyError`` naming an unknown one."""
    for released, prefix, table in _LAYERS:
        m = re.match(re.escape(released) + r'\.(\d+)\.(.+)$', key)
        if m:
            for old, new in table.items():
                if m[2].startswith(old):
                    return f'{prefix}.{m[1]}.{new}{m[2][len(old):]}'
    for pattern, repl in _PLAIN:
        if re.match(pattern, key):
            return re.sub(pattern, repl, key)
    m = _PVT.match(key)
    if m:  # PVT-v2 in the original repository's naming -> timm's (the CATR loader's)
        (name,) = convert_pvt_v2_to_timm({m[1]: None})
        return f'backbone.{name}'
    raise KeyError(f"unknown key '{key}': not a key of the released AVSegFormer model")


#: (catravs pattern, released replacement): the inverse of _PLAIN and of the PVT renaming
_INVERSE = (
    (r'^audio_encoder\.(.+)$', r'vggish.\1'),
    (r'^neck\.((in_proj|lateral_conv|out_conv)\..+|level_embed)$', r'head.\1'),
    (r'^decoder\.(query_generator\.query\.weight|learnable_query\.weight)$', r'head.\1'),
    (r'^fusion\.(.+)$', r'head.fusion_block.\1'),
    (r'^backbone\.layer([34])\.(.+)$', r'backbone.layer\1_1.\2'),
    (r'^backbone\.patch_embed\.(.+)$', r'backbone.patch_embed1.\1'),
    (r'^backbone\.stages\.(\d)\.downsample\.(.+)$',
     lambda m: f'backbone.patch_embed{int(m[1]) + 1}.{m[2]}'),
    (r'^backbone\.stages\.(\d)\.norm\.(.+)$',
     lambda m: f'backbone.norm{int(m[1]) + 1}.{m[2]}'),
    (r'^backbone\.stages\.(\d)\.blocks\.(\d+)\.(.+)$',
     lambda m: (f'backbone.block{int(m[1]) + 1}.{m[2]}.'
                + m[3].replace('mlp.dwconv.', 'mlp.dwconv.dwconv.'))),
)


def catravs_key_to_released(key: str) -> str | None:
    """The released key that maps to catravs' ``key`` (for messages), or None."""
    for released, prefix, table in _LAYERS:
        m = re.match(re.escape(prefix) + r'\.(\d+)\.(.+)$', key)
        if m:
            for old, new in sorted(table.items(), key=lambda item: -len(item[1])):
                if m[2].startswith(new):
                    return f'{released}.{m[1]}.{old}{m[2][len(new):]}'
    for pattern, repl in _INVERSE:
        if re.match(pattern, key):
            return re.sub(pattern, repl, key)
    return key  # audio_proj.*, head.mlp.*, head.fc.*, the ResNet stem and layer1-2


def convert_released_state_dict(state_dict: Mapping[str, Tensor]
                                ) -> tuple[dict[str, Tensor], dict[str, str]]:
    """``-> (catravs state dict, {dropped released key: reason})``; ``KeyError`` names
    the first unknown key."""
    return map_released_state_dict(state_dict, dead_key_reason,
                                   lambda key, value: (released_key_to_catravs(key), value))
