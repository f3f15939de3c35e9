"""The released CATR code's training step (:mod:`catravs.analysis.released_step`).

The released code is aspirinone/CATR.github.io, folder ``CATR/``. Run-time patches besides
the ``.cuda()`` one: ``Pred_endecoder.initialize_pvt_weights`` does nothing (random weights,
no file read); the yaml that the release does not publish is given as :data:`RELEASED_YAML`
(the values of the parity fixture, ``tests/fixtures/catr_released/README.md``).

One step is what ``CATR/train.py`` does for one batch: ``Pred_endecoder`` on the frames
(VGGish embeddings ``[T, 128]`` given), frame 1's outputs to the criterion, the weighted
loss, backward, gradient clip 5, Adam. One clip (the released loader's S4 batch of one),
frame 1 labelled.
"""
from __future__ import annotations

import importlib
import os
import types
from collections.abc import Callable

import torch
import torch.nn as nn

from .released_step import check_imported_from

__all__ = ['RELEASED_YAML', 'import_released', 'released_train_step']

#: the yaml values that the released train.py reads and the release does not publish
RELEASED_YAML = dict(d_model=256, nheads=8, dim_feedforward=2048, dropout=0.1,
                     num_encoder_layers=3, num_decoder_layers=3, aux_loss=True,
                     set_cost_is_referred=2, set_cost_dice=7, dice_loss_coef=5, eos_coef=0.1)
AUDIO_DIM = 128  # VGGish embedding


def import_released(root: str) -> types.SimpleNamespace:
    """The released modules from the checkout ``root`` (the folder holding ``model/``,
    ``misc.py``, ``train.py``): ``Pred_endecoder``, ``build_model``,
    ``nested_tensor_from_videos_list``.

    The released code imports itself by top-level names (``model``, ``misc``), so ``root``
    must be on this process's ``PYTHONPATH``: run it through
    ``tools/analysis_tools/released_step.py --method catr``, which starts the measuring process so
    (:func:`catravs.analysis.bench_compare.run_worker`). ``ImportError`` names the root and
    the file that was found instead, if any."""
    root = os.path.realpath(root)
    try:
        avs_model = importlib.import_module('model.PVT_AVSModel')
        build_model = importlib.import_module('model').build_model
        misc = importlib.import_module('misc')
    except (ImportError, AttributeError) as err:
        raise ImportError(f'{root} is not the released CATR folder (CATR/ of '
                          f'aspirinone/CATR.github.io) on PYTHONPATH: {err}') from err
    check_imported_from(root, (avs_model, misc))
    return types.SimpleNamespace(Pred_endecoder=avs_model.Pred_endecoder,
                                 build_model=build_model,
                                 nested_tensor_from_videos_list=misc.nested_tensor_from_videos_list)


def released_train_step(released: types.SimpleNamespace, frames: int, size: int,
                        device: str, seed: int = 0,
                        losses: list[float] | None = None) -> Callable[[], None]:
    """Build the released model, criterion and Adam on ``device``; return one training
    step (which appends its loss to ``losses`` if given)."""
    released.Pred_endecoder.initialize_pvt_weights = lambda self, **kwargs: None
    torch.manual_seed(seed)
    yaml = dict(RELEASED_YAML, device=device)
    model = released.Pred_endecoder(**yaml).to(device).train()
    criterion, _ = released.build_model(types.SimpleNamespace(**yaml))
    optimizer = torch.optim.Adam(model.parameters(), 1e-5)
    gen = torch.Generator().manual_seed(seed)
    video = released.nested_tensor_from_videos_list(
        [torch.rand(frames, 3, size, size, generator=gen).to(device)])
    audio_feature = (torch.rand(frames, AUDIO_DIM, generator=gen) * 2).to(device)
    audio_pad = torch.zeros(1, frames, dtype=torch.bool, device=device)
    mask = torch.zeros(1, size, size, dtype=torch.bool, device=device)
    mask[0, size // 4:size // 2, size // 3:2 * size // 3] = True
    target = ({'masks': mask, 'referred_instance_idx': torch.tensor(0, device=device),
               'iscrowd': torch.zeros(1, device=device),
               'size': torch.tensor([size, size], device=device)},)
    first = torch.tensor([0], device=device)

    def step() -> None:
        imgs = video.tensors.reshape(frames, 3, size, size)  # [T, B=1, ...] -> [T*B, ...]
        out = model(video, audio_pad, imgs, audio_feature)
        out['pred_masks'] = torch.index_select(out['pred_masks'], 0, first)  # frame 1
        out['pred_is_referred'] = out['pred_is_referred'][0].unsqueeze(0)
        terms = criterion(out, [target])
        weights = criterion.weight_dict
        loss = sum(terms[k] * weights[k] for k in terms if k in weights)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5)
        optimizer.step()
        if losses is not None:
            losses.append(float(loss.detach()))

    return step
