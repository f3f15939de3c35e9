"""The released CATR code's own training step, timed like catravs' (the reference's reference).

The released code (aspirinone/CATR.github.io, folder ``CATR/``) is imported read-only from
a checkout that the user names; nothing of it is copied into catravs. It runs with
run-time patches only:

- where CUDA is absent, ``Tensor.cuda`` and ``Module.cuda`` return the object itself
  (the released model and criterion call ``.cuda()`` unconditionally);
- ``Pred_endecoder.initialize_pvt_weights`` does nothing: random weights, no file read;
- the yaml that the release does not publish is given as :data:`RELEASED_YAML` (the values
  of the parity fixture, ``tests/fixtures/catr_released/README.md``).

One step is what ``CATR/train.py`` does for one batch: ``Pred_endecoder`` on the frames
(VGGish embeddings ``[T, 128]`` given, as ``train.py`` computes them under ``no_grad``),
frame 1's outputs to the criterion, the weighted loss, backward, gradient clip 5, Adam.
One clip (the released loader's S4 batch of one), frame 1 labelled.
"""
from __future__ import annotations

import importlib
import os
import statistics
import types
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn as nn

from .benchmarking import machine_info, peak_memory_bytes, time_steps

__all__ = ['RELEASED_YAML', 'import_released', 'measure_released_step']

#: the yaml values that the released train.py reads and the release does not publish
RELEASED_YAML = dict(d_model=256, nheads=8, dim_feedforward=2048, dropout=0.1,
                     num_encoder_layers=3, num_decoder_layers=3, aux_loss=True,
                     set_cost_is_referred=2, set_cost_dice=7, dice_loss_coef=5, eos_coef=0.1)
AUDIO_DIM = 128  # VGGish embedding


def _patch_cuda_calls() -> None:
    """``.cuda()`` returns the object itself (only where CUDA is absent)."""
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    nn.Module.cuda = lambda self, *args, **kwargs: self


def import_released(root: str) -> types.SimpleNamespace:
    """The released modules from the checkout ``root`` (the folder holding ``model/``,
    ``misc.py``, ``train.py``): ``Pred_endecoder``, ``build_model``,
    ``nested_tensor_from_videos_list``.

    The released code imports itself by top-level names (``model``, ``misc``), so ``root``
    must be on this process's ``PYTHONPATH``: run it through
    ``tools/analysis_tools/released_catr_step.py``, which starts the measuring process so
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
    for module in (avs_model, misc):
        found = os.path.realpath(module.__file__ or '')
        if not found.startswith(root + os.sep):
            raise ImportError(f'{module.__name__} was imported from {found}, not from the '
                              f'released folder {root}: put {root} first on PYTHONPATH')
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


def measure_released_step(root: str, shape: Sequence[int], steps: int, warmup: int,
                          device: str = 'cpu',
                          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Time ``steps`` released training steps after ``warmup``; a result dict in the form
    of :func:`catravs.analysis.benchmarking.measure_model`'s (``path='released'``)."""
    t, h, w = shape
    if h != w:
        raise ValueError(f'the released model takes square frames; got {h} x {w}')
    if not torch.cuda.is_available():
        _patch_cuda_calls()
    losses: list[float] = []
    step = released_train_step(import_released(root), t, h, device, losses=losses)
    all_times = time_steps(step, steps, warmup, device, progress)
    times = all_times[warmup:]
    median = statistics.median(times)
    return dict(path='released', task='train', device=device, clips=1, shape=[t, h, w],
                amp=False, first_step_s=all_times[0], step_s=median, times=times,
                clips_per_s=1 / median, frames_per_s=t / median,
                peak_bytes=peak_memory_bytes(device), losses=losses,
                notes=['the released code, random weights'], machine=machine_info(device))
