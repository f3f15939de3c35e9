"""The released TPAVI code's training step (:mod:`catravs.analysis.released_step`).

The released code is OpenNLPLab/AVSBench, folder ``avs_scripts/avs_s4/`` (the S4 setting:
``model/PVT_AVSModel.py``, ``model/TPAVI.py``, ``loss.py``). Run-time patches besides the
``.cuda()`` one: ``Pred_endecoder.initialize_pvt_weights`` does nothing and VGGish is built
with ``FREEZE_AUDIO_EXTRACTOR`` off (random weights, no ``pvt_v2_b5.pth`` or
``vggish-10086976.pth`` read); where ``resampy`` is not installed, an empty module stands in
for it (``torchvggish/vggish_input.py`` imports it for wav files, which S4 never reads: its
log-mel examples are precomputed, ``PREPROCESS_AUDIO_TO_LOG_MEL = False``).

One step is what ``avs_s4/train.py`` does for one batch (``train.sh``'s flags): VGGish in
eval mode under ``no_grad`` on the log-mel examples ``[T, 1, 96, 64]`` -> ``[T, 128]``; the
model with TPAVI at stages 0-3 (``--tpavi_stages 0 1 2 3 --tpavi_va_flag``) in train mode
on the frames ``[T, 3, H, W]`` and those embeddings; ``IouSemanticAwareLoss`` with
``sa_loss_flag=False`` (S4: BCE on frame 0 of each clip), backward, Adam (lr 1e-4, no
weight decay, VGGish not in it). One clip; T must be a multiple of 5 (the released block
groups 5 frames).
"""
from __future__ import annotations

import importlib
import os
import sys
import types
from collections.abc import Callable

import torch

from catravs.utils.vggish_params import VGGISH_EXAMPLE_SHAPE

from .released_step import check_imported_from

__all__ = ['import_released', 'released_train_step']

FRAMES_PER_GROUP = 5  # hard-coded in the released model's reshapes


def import_released(root: str) -> types.SimpleNamespace:
    """``Pred_endecoder``, ``IouSemanticAwareLoss`` and ``VGGish`` from the checkout folder ``root``
    (``avs_scripts/avs_s4`` of OpenNLPLab/AVSBench), which must be first on this process's
    ``PYTHONPATH`` (the released code imports itself as ``model``, ``loss``):
    ``tools/analysis_tools/released_step.py --method tpavi`` starts the measuring process
    so. ``ImportError`` names the root and the file found instead, if any."""
    root = os.path.realpath(root)
    try:
        importlib.import_module('resampy')
    except ImportError:
        sys.modules['resampy'] = types.ModuleType('resampy')
    try:
        avs_model = importlib.import_module('model.PVT_AVSModel')
        loss = importlib.import_module('loss')
        vggish = importlib.import_module('torchvggish.vggish')
        names = dict(Pred_endecoder=avs_model.Pred_endecoder,
                     IouSemanticAwareLoss=loss.IouSemanticAwareLoss, VGGish=vggish.VGGish)
    except (ImportError, AttributeError) as err:
        raise ImportError(f'{root} is not the released TPAVI S4 folder (avs_scripts/avs_s4 '
                          f'of OpenNLPLab/AVSBench) on PYTHONPATH: {err}') from err
    check_imported_from(root, (avs_model, loss, vggish))
    return types.SimpleNamespace(**names)


def released_train_step(released: types.SimpleNamespace, frames: int, size: int,
                        device: str, seed: int = 0,
                        losses: list[float] | None = None) -> Callable[[], None]:
    """Build the released model and Adam on ``device``; return one training step (which
    appends its loss to ``losses`` if given)."""
    if frames % FRAMES_PER_GROUP:
        raise ValueError(f'the released TPAVI groups {FRAMES_PER_GROUP} frames; '
                         f'got T = {frames}')
    released.Pred_endecoder.initialize_pvt_weights = lambda self, **kwargs: None
    torch.manual_seed(seed)
    vggish_cfg = types.SimpleNamespace(TRAIN=types.SimpleNamespace(
        FREEZE_AUDIO_EXTRACTOR=False, PREPROCESS_AUDIO_TO_LOG_MEL=False,
        POSTPROCESS_LOG_MEL_WITH_PCA=False))
    audio_backbone = released.VGGish(vggish_cfg, torch.device(device)).eval()
    model = released.Pred_endecoder(channel=256, config=None, tpavi_stages=[0, 1, 2, 3],
                                     tpavi_vv_flag=False, tpavi_va_flag=True)
    model = model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), 1e-4)
    gen = torch.Generator().manual_seed(seed)
    imgs = torch.rand(frames, 3, size, size, generator=gen).to(device)
    log_mel = torch.randn(frames, *VGGISH_EXAMPLE_SHAPE, generator=gen).to(device)
    clips = frames // FRAMES_PER_GROUP
    mask = torch.zeros(clips, 1, 1, size, size, device=device)  # frame 0 of each clip
    mask[..., size // 4:size // 2, size // 3:2 * size // 3] = 1

    def step() -> None:
        with torch.no_grad():
            audio_feature = audio_backbone(log_mel)  # [T, 128]
        output, v_maps, a_feas = model(imgs, audio_feature)
        loss, _ = released.IouSemanticAwareLoss(output, mask, a_feas, v_maps, lambda_1=0,
                                                count_stages=[], sa_loss_flag=False,
                                                mask_pooling_type='avg')
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if losses is not None:
            losses.append(float(loss.detach()))

    return step
