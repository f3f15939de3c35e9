"""TPAVI: the AVSBench baseline (Zhou et al., ECCV 2022, and its AVSS extension)."""
from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from catravs.models.builder import build_model_part
from catravs.models.fusions import BaseStageFusion
from catravs.models.heads import BaseDenseHead
from catravs.models.losses import BaseDenseCriterion
from catravs.registry import MODELS
from catravs.structures import AVSDataSample

from .base_av_segmentor import BaseAVSegmentor, NonFinitePolicy, Task
from .label_size import to_label_size


@MODELS.register_module()
class TPAVI(BaseAVSegmentor):
    """Per-pixel audio-visual segmentor with an audio-visual non-local block at each stage.

    Data flow for ``inputs = dict(frames[B, T, 3, H, W], audio[B, T, ...])``, N = B*T
    frames in clip order: backbone -> 4 levels (strides 4-32); neck (summed dilated
    convolutions) -> C channels each; audio encoder -> ``[N, D_a]``; at each stage in
    ``stages`` a :class:`BaseStageFusion` block (``fusion``, one per stage) mixes the level
    with the audio -> ``(f_s[N, C, h_s, w_s], audio_key_s[N, C])``; the head (RefineNet
    decoder) -> logits ``[N, K, H, W]``. ``v_maps = relu(f_s)``, what the decoder's first
    in-place ReLU leaves in the released code, enter the matching loss.

    Frames whose ``valid_frames`` flag is off (padded AVSS frames) have their audio
    embedding, neck features, fused features, every decoder stage and their logits
    multiplied by 0, as released.

    In :meth:`loss`, ``impl='fast'`` (default) runs the head only on the frames that the
    loss reads (the annotated ones: 1 of 5 per S4 training clip): the head works frame by
    frame and the loss weighs every other frame by 0, so the loss and every gradient are
    those of decoding all frames, at a fraction of the head's time and memory.
    ``impl='reference'`` decodes every frame, as the released code does.

    Args:
        backbone, neck, audio_encoder, fusion, head, criterion: configs of the parts
            (categories ``visual_backbone``, ``neck``, ``audio_encoder``, ``fusion`` (a
            :class:`BaseStageFusion`), ``head`` (a :class:`BaseDenseHead`), ``loss``).
            Defaults filled in: ``neck.in_channels`` (the backbone's), ``fusion.channels``
            (the neck's ``out_channels``), ``fusion.audio_channels`` (the audio encoder's),
            ``head.num_classes``/``head.channels``, ``criterion.task``.
        stages: levels that get a fusion block (released: 0, 1, 2, 3).
        impl: ``'fast'`` or ``'reference'`` (which frames :meth:`loss` decodes, above).
        task, num_classes, test_cfg, non_finite, channels_last, data_preprocessor: see
            :class:`BaseAVSegmentor`.
    """

    def __init__(self, backbone: dict, neck: dict, audio_encoder: dict, fusion: dict,
                 head: dict, criterion: dict, stages: Sequence[int] = (0, 1, 2, 3),
                 impl: str = 'fast', task: Task = 'binary', num_classes: int = 1,
                 test_cfg: Optional[dict] = None,
                 non_finite: NonFinitePolicy = 'raise', channels_last: bool = False,
                 data_preprocessor: Optional[dict] = None, init_cfg=None) -> None:
        super().__init__(task=task, num_classes=num_classes, non_finite=non_finite,
                         channels_last=channels_last, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.test_cfg = {'mask_threshold': 0.5, **(test_cfg or {})}
        if impl not in ('fast', 'reference'):
            raise ValueError(f"TPAVI.impl must be 'fast' or 'reference', got {impl!r}")
        self.impl = impl
        self.stages = tuple(stages)
        self.backbone = build_model_part(backbone, 'visual_backbone', 'model.backbone')
        neck = copy.deepcopy(neck)
        neck.setdefault('in_channels', list(self.backbone.out_channels))
        self.neck = build_model_part(neck, 'neck', 'model.neck')
        self.audio_encoder = build_model_part(audio_encoder, 'audio_encoder',
                                              'model.audio_encoder')
        fusion = copy.deepcopy(fusion)
        fusion.setdefault('channels', self.neck.out_channels)
        fusion.setdefault('audio_channels', self.audio_encoder.out_channels)
        self.fusions = nn.ModuleDict({
            str(s): build_model_part(fusion, 'fusion', 'model.fusion', expects=BaseStageFusion)
            for s in self.stages})
        head = copy.deepcopy(head)
        head.setdefault('num_classes', num_classes)
        head.setdefault('channels', self.neck.out_channels)
        self.head = build_model_part(head, 'head', 'model.head', expects=BaseDenseHead)
        criterion = copy.deepcopy(criterion)
        criterion.setdefault('task', task)
        self.criterion = build_model_part(criterion, 'loss', 'model.criterion',
                                          expects=BaseDenseCriterion)
        self._set_memory_format()

    # ------------------------------------------------------------------ forward
    def _tensor_outputs(self, inputs: dict):
        return self._forward(inputs, inputs.get('valid_frames'))

    def _forward(self, inputs: dict, valid: Optional[Tensor] = None,
                 decode: Optional[Tensor] = None
                 ) -> tuple[Tensor, list[Tensor], list[Optional[Tensor]]]:
        """``-> (logits[N, K, H, W], v_maps, audio_keys)``: per level ``v_maps[i]``
        ``[N, C, h_i, w_i]`` and ``audio_keys[i]`` ``[N, C]`` (None at levels without a
        fusion block). ``valid``: ``Tensor[B, T]`` (0 = padded frame) or None.
        ``decode``: ``LongTensor[M]``, the frames (of N) that the head decodes; then the
        three outputs hold those M frames only."""
        frames, audio = inputs['frames'], inputs['audio']
        b, t = self._clip_shape(inputs)
        scale = None if valid is None else valid.reshape(b * t).to(frames.dtype)

        def masked(x: Tensor) -> Tensor:
            if scale is None:
                return x
            return x * scale.to(x.dtype).reshape(-1, *([1] * (x.dim() - 1)))

        audio = masked(self.audio_encoder(audio.flatten(0, 1)))  # [N, D_a]
        feats = [masked(f) for f in self.neck(self.backbone(frames.flatten(0, 1)))]
        audio_keys: list[Optional[Tensor]] = [None] * len(feats)
        for s in self.stages:
            fused, audio_keys[s] = self.fusions[str(s)](feats[s], audio)
            feats[s] = masked(fused)
        v_maps = [F.relu(f) for f in feats]  # the decoder rectifies them first anyway
        if decode is not None:
            v_maps = [v.index_select(0, decode) for v in v_maps]
            audio_keys = [None if a is None else a.index_select(0, decode) for a in audio_keys]
            scale = None if scale is None else scale.index_select(0, decode)
        return self.head(v_maps, scale), v_maps, audio_keys

    @staticmethod
    def _valid(data_samples: list[AVSDataSample], t: int,
               device: torch.device) -> Optional[Tensor]:
        """``Tensor[B, T]``: the samples' ``valid_frames`` flags; None when every frame is
        valid (host data: then nothing is multiplied by 1)."""
        flags = [s.metainfo.get('valid_frames', [True] * t) for s in data_samples]
        if all(all(f) for f in flags):
            return None
        return torch.tensor(flags, dtype=torch.float32, device=device)

    # --------------------------------------------------------------------- loss
    def loss(self, inputs: dict, data_samples: list[AVSDataSample]) -> dict[str, Tensor]:
        """:attr:`criterion` on the batch's frames at the label size (all clips' labels
        must have one size); the annotated frames carry the loss."""
        frames = inputs['frames']
        t = frames.shape[1]
        # per clip, the frames whose logits the loss reads (host data: no device sync)
        kept = [list(range(t)) if self.impl == 'reference' else
                [i for i, a in enumerate(s.annotated_flags) if a] for s in data_samples]
        decode = None if self.impl == 'reference' else torch.tensor(
            [b * t + i for b, idx in enumerate(kept) for i in idx], dtype=torch.long,
            device=frames.device)
        logits, v_maps, audio_keys = self._forward(
            inputs, self._valid(data_samples, t, frames.device), decode)
        pad_shape = tuple(frames.shape[-2:])
        scores, labels, weights = [], [], []
        start = 0
        weight_dtype = torch.promote_types(logits.dtype, torch.float32)  # float64 stays
        for sample, idx in zip(data_samples, kept):
            scores.append(to_label_size(logits[start:start + len(idx)], sample, pad_shape))
            start += len(idx)
            labels.append(sample.gt_masks[idx].to(logits.device))
            weights.append(sample.annotated[idx].to(logits.device, weight_dtype))
        sizes = {tuple(x.shape[-2:]) for x in labels}
        if len(sizes) > 1:
            raise ValueError(f'TPAVI.loss needs one label size per batch, got {sorted(sizes)}')
        return self.criterion(torch.cat(scores), torch.cat(labels), torch.cat(weights),
                              v_maps, audio_keys)

    # ------------------------------------------------------------------ predict
    @torch.no_grad()
    def predict(self, inputs: dict,
                data_samples: Optional[list[AVSDataSample]] = None) -> list[AVSDataSample]:
        """The head's per-frame logits (padded frames zeroed) -> :meth:`_pack_predictions`."""
        valid = None
        if data_samples is not None:
            valid = self._valid(data_samples, inputs['frames'].shape[1],
                                inputs['frames'].device)
        logits, _, _ = self._forward(inputs, valid)
        return self._pack_predictions(logits, inputs, data_samples)
