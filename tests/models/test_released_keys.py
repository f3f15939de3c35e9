"""The converter core's key tables: templates, the derived inverse, and both methods'
tables on the full key sets of their released checkpoints (tests/fixtures)."""
from __future__ import annotations

import json
import os.path as osp

import pytest
import torch

from catravs.models.backbones.pvt_v2 import convert_pvt_v2_to_timm
from catravs.models.segmentors.avsegformer_released_keys import AVSEGFORMER_RELEASED_KEYS
from catravs.models.segmentors.catr_released_keys import CATR_RELEASED_KEYS
from catravs.models.segmentors.released_keys import PVT_V2_RULES, ReleasedKeyTable
from tests.conftest import REPO_ROOT

FIXTURES = osp.join(REPO_ROOT, 'tests', 'fixtures')
KEY_SETS = {
    'catr': (CATR_RELEASED_KEYS, 'catr_released/state_dict_shapes.json', 1277),
    's4_pvt': (AVSEGFORMER_RELEASED_KEYS, 'avsegformer_released/state_dict_shapes_s4_pvt.json',
               1402),
    'avss_pvt': (AVSEGFORMER_RELEASED_KEYS,
                 'avsegformer_released/state_dict_shapes_avss_pvt.json', 1402),
    's4_r50': (AVSEGFORMER_RELEASED_KEYS, 'avsegformer_released/state_dict_shapes_s4_r50.json',
               668),
}


def released_keys(name: str) -> list[str]:
    with open(osp.join(FIXTURES, KEY_SETS[name][1])) as f:
        return list(json.load(f))


def test_fields_shift_numbers_and_keep_the_rest():
    table = ReleasedKeyTable('a toy model', rules=(
        ('lay{k+1}.{rest}', 'convs.{k}.0.{rest}'),
        ('blocks.{i}.norm{j}.{rest}', 'layers.{i}.norms.{j-1}.{rest}')),
        dead=((r'^lay4\.', 'never called'),))
    assert table.to_catravs('lay1.weight') == 'convs.0.0.weight'
    assert table.to_catravs('lay12.0.bias') == 'convs.11.0.0.bias'
    assert table.to_catravs('blocks.3.norm2.weight') == 'layers.3.norms.1.weight'
    assert table.to_released('layers.3.norms.1.weight') == 'blocks.3.norm2.weight'
    assert table.to_released('convs.3.0.weight') is None  # lay4 is dead
    with pytest.raises(KeyError, match="unknown key 'lay0.weight': not a key of a toy model"):
        table.to_catravs('lay0.weight')  # k = -1: no such layer
    converted, dropped = table.convert({'lay1.w': torch.zeros(1), 'lay4.w': torch.ones(1)})
    assert list(converted) == ['convs.0.0.w'] and dropped == {'lay4.w': 'never called'}


def test_a_rule_must_name_the_same_fields_on_both_sides():
    with pytest.raises(ValueError, match='both sides must name the same fields'):
        ReleasedKeyTable('m', rules=(('a.{i}.{rest}', 'b.{rest}'),))
    with pytest.raises(ValueError, match='names {i} twice'):
        ReleasedKeyTable('m', rules=(('a.{i}.{i}', 'b.{i}'),))


def test_the_inverse_takes_the_rule_that_converts_back():
    """``stages.0.downsample`` would come from ``patch_embed1`` by the second PVT rule,
    but the first rule claims ``patch_embed1``: there is no released key for it."""
    table = ReleasedKeyTable('pvt', PVT_V2_RULES)
    assert table.to_released('stages.0.downsample.proj.weight') is None
    assert table.to_released('patch_embed.proj.weight') == 'patch_embed1.proj.weight'
    assert (table.to_released('stages.1.blocks.2.mlp.dwconv.weight')
            == 'block2.2.mlp.dwconv.dwconv.weight')


def test_pvt_rules_agree_with_the_pvt_loader():
    """The table against the PVT-v2 loader's own renaming, on every key of PVT-v2-b5."""
    keys = [k[len('encoder_backbone.'):] for k in released_keys('catr')
            if k.startswith('encoder_backbone.') and not k.startswith('encoder_backbone.head.')]
    assert len(keys) > 1000
    table = ReleasedKeyTable('pvt', PVT_V2_RULES)
    timm = convert_pvt_v2_to_timm(dict.fromkeys(keys))
    assert [table.to_catravs(k) for k in keys] == list(timm)


@pytest.mark.parametrize('name', list(KEY_SETS))
def test_full_released_key_sets_convert_and_invert(name):
    table, _, kept = KEY_SETS[name]
    keys = released_keys(name)
    origins: dict[str, str] = {}
    converted, dropped = table.convert(dict.fromkeys(keys), origins)
    assert len(converted) == kept and len(converted) + len(dropped) == len(keys)
    assert len(set(converted)) == len(converted)  # no two released keys on one weight
    for ours, theirs in origins.items():  # the derived inverse, on every live key
        assert table.to_released(ours) == theirs


@pytest.mark.parametrize('table, released, ours', [
    (CATR_RELEASED_KEYS, 'conv2.conv2d_list.3.weight', 'neck.levels.1.branches.3.weight'),
    (CATR_RELEASED_KEYS, 'spatial_decoder.gn4.bias', 'head.pixel_decoder.convs.3.1.bias'),
    (CATR_RELEASED_KEYS, 'transformer.temporal_encoder.layers.1.norm2.weight',
     'fusion.temporal_layers.1.encoder.ffn.norm.weight'),
    (CATR_RELEASED_KEYS, 'encoder_backbone.block4.2.mlp.dwconv.dwconv.bias',
     'backbone.stages.3.blocks.2.mlp.dwconv.bias'),
    (AVSEGFORMER_RELEASED_KEYS, 'head.transformer.encoder.layers.0.norm1.weight',
     'neck.layers.0.norm.weight'),
    (AVSEGFORMER_RELEASED_KEYS, 'head.transformer.encoder.layers.0.norm2.weight',
     'neck.layers.0.ffn.norm.weight'),
    (AVSEGFORMER_RELEASED_KEYS, 'head.query_generator.layers.1.ffn.2.bias',
     'decoder.query_generator.layers.1.ffn.net.3.bias'),
    (AVSEGFORMER_RELEASED_KEYS, 'backbone.layer3_1.4.bn2.running_mean',
     'backbone.layer3.4.bn2.running_mean'),
])
def test_keys_land_where_the_released_modules_say(table, released, ours):
    """Hand-read pairs (the released modules' attribute order: norm1 after attention,
    norm2 after the FFN; ``lay``/``gn`` counted from 1)."""
    assert table.to_catravs(released) == ours
    assert table.to_released(ours) == released


def test_unknown_keys_are_refused_by_name():
    for key in ('transformer.mystery_block.weight', 'encoder_backbone.mystery.weight',
                'transformer.temporal_encoder.layers.0.av_atten.norm.weight'):
        with pytest.raises(KeyError, match=f"unknown key '{key}'.*released CATR model"):
            CATR_RELEASED_KEYS.convert({key: torch.zeros(1)})
