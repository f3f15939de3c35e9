"""Part categories are contracts: a segmentor's field refuses, when the model is built, a
part of the right category that implements another declared interface, and names both."""
from __future__ import annotations

import copy
import inspect
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from torch import Tensor

from catravs.models import build_model_part
from catravs.models.builder import forward_signature, signature_arity
from catravs.models.fusions import BaseFeatureMapFusion, BaseFusion, BaseTokenFusion, FusionOutput
from catravs.models.heads import BaseMaskHead, BasePerQueryMaskHead, BaseQueryMixingHead
from catravs.models.losses import BaseFrameCriterion, BaseSetCriterion
from catravs.registry import MODEL_PART_CATEGORIES, MODELS, interface_of, model_part_interface
from tests.conftest import REPO_ROOT, tiny_catr_cfg

#: the slots whose category has two declared interfaces, and what each method requires
SLOTS = {
    'fusion': ('fusion', BaseTokenFusion, BaseFeatureMapFusion),
    'head': ('head', BasePerQueryMaskHead, BaseQueryMixingHead),
    'criterion': ('loss', BaseSetCriterion, BaseFrameCriterion),
}


def avsegformer_cfg() -> dict:
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'models',
                                   'avsegformer_tiny.py'))
    return cfg.model.to_dict()


def build(cfg: dict):
    with DefaultScope.overwrite_default_scope('catravs'):
        return MODELS.build(cfg)


@pytest.mark.parametrize('slot', list(SLOTS))
def test_catr_refuses_avsegformers_part_at_build(slot):
    _, wanted, other = SLOTS[slot]
    part = avsegformer_cfg()[slot]
    with pytest.raises(TypeError) as err:
        build(tiny_catr_cfg(**{slot: part}))
    msg = str(err.value)
    assert f"model.{slot}: '{part['type']}'" in msg, msg
    # the expected interface with its forward signature, and what the part implements
    assert f'expects the interface {wanted.__name__}: {forward_signature(wanted)}' in msg, msg
    assert f'implements {other.__name__}: {forward_signature(other)}' in msg, msg


@pytest.mark.parametrize('slot', list(SLOTS))
def test_avsegformer_refuses_catrs_part_at_build(slot):
    _, other, wanted = SLOTS[slot]
    cfg = avsegformer_cfg()
    cfg[slot] = tiny_catr_cfg()[slot]
    with pytest.raises(TypeError) as err:
        build(cfg)
    msg = str(err.value)
    assert f"model.{slot}: '{cfg[slot]['type']}'" in msg, msg
    assert f'expects the interface {wanted.__name__}: {forward_signature(wanted)}' in msg, msg
    assert f'implements {other.__name__}' in msg, msg


class PluginTokenFusion(BaseTokenFusion):
    """A plugin fusion on the right base: the video through a linear layer plus the audio.

    ``forward(video[B, T, C, h, w], video_pos, audio[B, T, C]) -> FusionOutput`` with
    memory = the h*w video tokens.
    """

    def __init__(self, d_model: int = 32) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(d_model, d_model)

    def forward(self, video: Tensor, video_pos: Tensor, audio: Tensor) -> FusionOutput:
        fused = (video + audio[..., None, None]).flatten(0, 1)  # [N, C, h, w]
        tokens = self.proj(fused.flatten(2).transpose(1, 2))
        pos = video_pos.flatten(0, 1).flatten(2).transpose(1, 2)
        return FusionOutput(video=fused, memory=tokens, memory_pos=pos)


class PluginMapFusion(BaseFeatureMapFusion):
    """``forward(feature_map[N, C, h, w], audio[N, 1, C]) -> Tensor[N, C, h, w]``."""

    def forward(self, feature_map: Tensor, audio: Tensor) -> Tensor:
        return feature_map * audio.reshape(*audio.shape[:1], -1)[:, :, None, None].sigmoid()


def test_a_plugin_fusion_on_the_right_base_builds_and_trains(make_batch):
    model = build(tiny_catr_cfg(fusion=dict(type=PluginTokenFusion, d_model=32)))
    before = model.fusion.proj.weight.detach().clone()
    log = model.train_step(make_batch(batch=2, frames=3, size=64),
                           OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
    assert torch.isfinite(log['loss'])
    assert not torch.equal(before, model.fusion.proj.weight)  # the plugin was trained
    cfg = avsegformer_cfg()
    cfg['fusion'] = dict(type=PluginMapFusion)
    assert isinstance(build(cfg).fusion, PluginMapFusion)


def test_a_plugin_fusion_on_the_other_base_is_refused_by_name():
    with pytest.raises(TypeError, match=r"model\.fusion: 'PluginMapFusion'.*expects the "
                                        r'interface BaseTokenFusion.*implements '
                                        r'BaseFeatureMapFusion'):
        build(tiny_catr_cfg(fusion=dict(type=PluginMapFusion)))


def test_a_part_whose_forward_breaks_its_interface_is_refused():
    class TwoArgumentTokenFusion(BaseTokenFusion):
        def forward(self, video, audio):  # no video_pos: CATR's call would fail
            return video

    with pytest.raises(TypeError, match=r"model\.fusion: 'TwoArgumentTokenFusion' .* subclasses "
                                        r'BaseTokenFusion but its forward\(self, video, '
                                        r'audio\) cannot be called as the interface says'):
        build_model_part(dict(type=TwoArgumentTokenFusion), 'fusion', 'model.fusion',
                         expects=BaseTokenFusion)


def test_expects_must_be_an_interface_of_the_category():
    with pytest.raises(ValueError, match='BaseSetCriterion is not an interface of the fusion'):
        build_model_part(dict(type='CrossModalMixer'), 'fusion', expects=BaseSetCriterion)
    with pytest.raises(TypeError, match='is not a subclass of a model part category base'):
        model_part_interface(type('Loose', (torch.nn.Module,), {}))


def test_every_registered_fusion_and_head_implements_a_declared_interface():
    """A fusion or head subclassing the bare category base would fit no segmentor."""
    MODELS.import_from_location()
    for base in (BaseFusion, BaseMaskHead):
        members = [cls for cls in MODELS.module_dict.values()
                   if isinstance(cls, type) and issubclass(cls, base)]
        assert len(members) >= 2
        for cls in members:
            assert interface_of(cls) is not base, cls


def test_every_member_can_be_called_as_its_interface_says():
    """The arity of each registered part's forward against its interface's signature
    (the check build_model_part makes), and each signature is documented."""
    MODELS.import_from_location()
    checked = 0
    for cls in MODELS.module_dict.values():
        interface = interface_of(cls) if isinstance(cls, type) else None
        if interface is None:
            continue
        signature = forward_signature(interface)
        if interface in (BaseFusion, BaseMaskHead) or interface.__name__ == 'BaseLoss':
            continue  # the generic bases of categories with declared interfaces
        assert signature, f'{interface.__name__} documents no forward signature'
        inspect.signature(cls.forward).bind(None, *range(signature_arity(signature)))
        checked += 1
    assert checked >= 20


def test_signature_arity_counts_top_level_arguments():
    assert signature_arity('forward(a[N, C], b=None) -> x') == 2
    assert signature_arity('forward(x: Tensor[N, 3, H, W]) -> tuple') == 1
    assert signature_arity('forward() -> x') == 0
    assert signature_arity(forward_signature(BaseTokenFusion)) == 3
    assert signature_arity(forward_signature(BaseFrameCriterion)) == 4


def test_categories_with_two_interfaces_list_their_members_apart():
    from catravs.models import registered_in_category
    assert 'DynamicMaskHead' in registered_in_category('head', BasePerQueryMaskHead)
    assert 'QueryMixingMaskHead' not in registered_in_category('head', BasePerQueryMaskHead)
    assert registered_in_category('head', BaseQueryMixingHead) == ['QueryMixingMaskHead']
    assert set(MODEL_PART_CATEGORIES) >= {'fusion', 'head', 'loss'}
    assert registered_in_category('loss', BaseSetCriterion) == ['MaskSetCriterion']
    assert registered_in_category('loss', BaseFrameCriterion) == ['IoUMixLoss']


@pytest.mark.parametrize('slot', ['neck', 'decoder'])
def test_shared_categories_serve_both_methods(slot, make_batch):
    """Necks and decoders have one interface: each method trains and predicts with the
    other's (widths and query counts matched; CATR's decoder with audio-initialised
    queries, which reads the audio argument)."""
    avs = avsegformer_cfg()
    catr = tiny_catr_cfg(d_model=64, head=dict(type='DynamicMaskHead', channels=64, mask_dim=8))
    catr_part, avs_part = copy.deepcopy(catr[slot]), copy.deepcopy(avs[slot])
    if slot == 'neck':
        catr_part.update(out_channels=64)
    else:
        catr_part.update(num_queries=avs['head']['num_queries'], query_init='audio')
    for cfg, part in ((catr, avs_part), (avs, catr_part)):
        cfg[slot] = part
        model = build(cfg)
        log = model.train_step(make_batch(batch=2, frames=3, size=64),
                               OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
        assert torch.isfinite(log['loss'])
        model.eval()
        samples = model.val_step(make_batch(batch=2, frames=3, size=64))
        assert samples[0].pred_masks.shape == (3, 64, 64)
