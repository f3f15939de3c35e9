"""AVSegFormer (Gao et al., AAAI 2024), as its released code computes it."""
from __future__ import annotations

import copy
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from catravs.models.builder import build_model_part
from catravs.models.fusions import BaseFeatureMapFusion
from catravs.models.heads import BaseQueryMixingHead
from catravs.models.losses import BaseFrameCriterion
from catravs.registry import MODELS
from catravs.structures import AVSDataSample

from .base_av_segmentor import BaseAVSegmentor, NonFinitePolicy, Task
from .label_size import to_label_size


@MODELS.register_module()
class AVSegFormer(BaseAVSegmentor):
    """Audio-visual segmentor with audio-conditioned queries and a channel-gated mask feature.

    Data flow for ``inputs = dict(frames[B, T, 3, H, W], audio[B, T, ...])`` (frames
    never interact: the N = B*T frames form the batch): backbone -> 4 levels; audio
    encoder -> ``[N, D_a]`` -> ``Linear(D_a, C)`` -> audio tokens ``[N, 1, C]``; neck
    (deformable encoder) -> mask feature ``[N, C, H/4, W/4]`` + memory levels; decoder
    (audio-conditioned queries, dense cross-attention to the memory) -> queries
    ``[L, N, Q, C]``; fusion (CrossModalMixer) gates the mask feature with the audio;
    head -> logits ``[N, K, H, W]``. Frames whose ``valid_frames`` flag is off (padding)
    get zero features, logits and mask feature (the released ``vid_temporal_mask_flag``).

    Args:
        backbone, audio_encoder, neck, decoder, fusion, head, criterion: configs of the
            parts (categories ``visual_backbone``, ``audio_encoder``, ``neck``,
            ``decoder``, ``fusion``, ``head``, ``loss``). ``neck.in_channels`` defaults to
            the backbone's ``out_channels``, ``head.num_classes`` to ``num_classes``.
        task: ``'binary'`` (S4/MS3; ``num_classes=1``) or ``'semantic'`` (AVSS: K classes,
            background included).
        d_model: C.
        test_cfg: ``mask_threshold`` (binary, on the sigmoid; default 0.5).
        non_finite: see :class:`BaseAVSegmentor`.
        channels_last: the convolutions in NHWC (see :class:`BaseAVSegmentor`).
    """

    def __init__(self, backbone: dict, audio_encoder: dict, neck: dict, decoder: dict,
                 fusion: dict, head: dict, criterion: dict, task: Task = 'binary',
                 num_classes: int = 1, d_model: int = 256, test_cfg: Optional[dict] = None,
                 non_finite: NonFinitePolicy = 'raise', channels_last: bool = False,
                 data_preprocessor: Optional[dict] = None, init_cfg=None) -> None:
        super().__init__(task=task, num_classes=num_classes, non_finite=non_finite,
                         channels_last=channels_last, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.test_cfg = {'mask_threshold': 0.5, **(test_cfg or {})}
        self.backbone = build_model_part(backbone, 'visual_backbone', 'model.backbone')
        self.audio_encoder = build_model_part(audio_encoder, 'audio_encoder',
                                              'model.audio_encoder')
        self.audio_proj = nn.Linear(self.audio_encoder.out_channels, d_model)
        neck = copy.deepcopy(neck)
        neck.setdefault('in_channels', list(self.backbone.out_channels))
        self.neck = build_model_part(neck, 'neck', 'model.neck')
        self.decoder = build_model_part(decoder, 'decoder', 'model.decoder')
        self.fusion = build_model_part(fusion, 'fusion', 'model.fusion',
                                       expects=BaseFeatureMapFusion)
        head = copy.deepcopy(head)
        head.setdefault('num_classes', num_classes)
        self.head = build_model_part(head, 'head', 'model.head', expects=BaseQueryMixingHead)
        self.criterion = build_model_part(criterion, 'loss', 'model.criterion',
                                          expects=BaseFrameCriterion)
        self._set_memory_format()

    # ------------------------------------------------------------------ forward
    def _tensor_outputs(self, inputs: dict) -> tuple[Tensor, Tensor]:
        return self._forward(inputs, inputs.get('valid_frames'))

    def _forward(self, inputs: dict, valid: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """``-> (mask_logits[N, K, H, W], mask_feature[N, C, H/4, W/4])``, N = B*T.

        ``valid``: ``Tensor[B, T]`` (1 = real frame, 0 = padding) or None (all real).
        """
        frames, audio = inputs['frames'], inputs['audio']
        b, t = self._clip_shape(inputs)
        scale = None if valid is None else valid.reshape(b * t, 1, 1, 1).to(frames.dtype)
        audio = self.audio_proj(self.audio_encoder(audio.flatten(0, 1)))[:, None]  # [N, 1, C]
        feats = list(self.backbone(frames.flatten(0, 1)))
        if scale is not None:
            feats = [f * scale.to(f.dtype) for f in feats]
        pixel, *memory = self.neck(feats)
        memory = torch.cat([m.flatten(2) for m in memory], 2).transpose(1, 2)  # [N, S, C]
        queries = self.decoder(memory, None, audio[:, 0])  # no memory positions (released)
        mask_feature = self.fusion(pixel, audio)
        logits = self.head(queries[-1], mask_feature)
        if scale is not None:
            logits, mask_feature = logits * scale.to(logits.dtype), mask_feature * scale.to(
                mask_feature.dtype)
        return logits, mask_feature

    @staticmethod
    def _valid(data_samples: list[AVSDataSample], t: int, device: torch.device) -> Tensor:
        """``Tensor[B, T]``: the samples' ``valid_frames`` flags (all 1 when absent)."""
        flags = [s.metainfo.get('valid_frames', [True] * t) for s in data_samples]
        return torch.tensor(flags, dtype=torch.float32, device=device)

    # --------------------------------------------------------------------- loss
    def loss(self, inputs: dict, data_samples: list[AVSDataSample]) -> dict[str, Tensor]:
        """Loss terms of :attr:`criterion`, averaged over the batch's annotated frames."""
        frames = inputs['frames']
        t = frames.shape[1]
        logits, mask_feature = self._forward(inputs, self._valid(data_samples, t, frames.device))
        pad_shape = tuple(frames.shape[-2:])
        sums: dict[str, Tensor] = {}
        count = 0.0
        for i, sample in enumerate(data_samples):
            clip = slice(i * t, (i + 1) * t)
            gt = sample.gt_masks.to(logits.device)
            scores = to_label_size(logits[clip], sample, pad_shape)
            # the mix loss's channel mean, at the label size (cropped like the logits)
            mean = to_label_size(mask_feature[clip].mean(1, keepdim=True), sample, pad_shape)
            flags = sample.annotated_flags
            weights = torch.tensor(flags, dtype=torch.float).to(logits.device, non_blocking=True)
            terms = self.criterion(scores, mean, gt, weights)
            n = float(sum(flags))  # from the host's meta fields: no read from the device
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value * max(n, 1e-12)
            count += n
        return {key: value / max(count, 1.0) for key, value in sums.items()}

    # ------------------------------------------------------------------ predict
    @torch.no_grad()
    def predict(self, inputs: dict,
                data_samples: Optional[list[AVSDataSample]] = None) -> list[AVSDataSample]:
        """The head's per-frame logits (padded frames zeroed) -> :meth:`_pack_predictions`."""
        t = inputs['frames'].shape[1]
        valid = None
        if data_samples is not None:
            valid = self._valid(data_samples, t, inputs['frames'].device)
        logits, _ = self._forward(inputs, valid)
        return self._pack_predictions(logits, inputs, data_samples)
