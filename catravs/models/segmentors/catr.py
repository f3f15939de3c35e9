"""CATR: Combinatorial-dependence Audio-queried Transformer (Li et al., ACM MM 2023)."""
from __future__ import annotations

import copy
from typing import Literal, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

from catravs.models.builder import build_model_part
from catravs.models.fusions import BaseTokenFusion
from catravs.models.heads import BasePerQueryMaskHead
from catravs.models.losses import BaseSetCriterion, ClipTargets
from catravs.models.utils import AttentionImpl, set_attention_impl, sine_position_embedding
from catravs.registry import MODELS
from catravs.structures import IGNORE_INDEX, AVSDataSample

from .base_av_segmentor import BaseAVSegmentor, NonFinitePolicy, Task

LossResolution = Literal['prediction', 'label']


@MODELS.register_module()
class CATR(BaseAVSegmentor):
    """Audio-visual video segmentor assembled from registered parts.

    Data flow for ``inputs = dict(frames[B, T, 3, H, W], audio[B, T, ...])``:
    backbone on the N = B*T frames -> 4 levels; neck -> C channels each; audio
    encoder -> ``[N, D_a]`` -> ``Linear(D_a, C) + LayerNorm + Dropout`` -> audio
    tokens ``[B, T, C]``; the stride-8 level through a 1x1 conv plus a sine
    position embedding -> video tokens; fusion -> fused video + memory; query
    decoder -> ``[L, N, Q, C]``; mask head -> mask logits ``[L, N, Q, H/4, W/4]``
    and class logits ``[L, N, Q, K+1]`` (``H/16`` with the released pixel decoder).

    Args:
        backbone, neck, audio_encoder, fusion, decoder, head, criterion: configs
            of model parts of the categories ``visual_backbone``, ``neck``,
            ``audio_encoder``, ``fusion``, ``decoder``, ``head``, ``loss``.
            ``neck.in_channels`` defaults to the backbone's ``out_channels``;
            ``head.num_classes`` and ``criterion.num_classes`` to ``num_classes``.
        task: ``'binary'`` (S4/MS3: one "sounding" class) or ``'semantic'`` (AVSS).
        num_classes: K, foreground classes (binary: 1; AVSS: all label classes,
            background included).
        d_model: C.
        token_level: index of the backbone level that gives the video tokens
            (1: stride 8).
        audio_dropout: dropout after the audio projection.
        loss_resolution: ``'label'``: mask logits are resized (bilinear) to the
            label size before matching and losses (the released code);
            ``'prediction'``: the labels are resized (nearest) to the logits' grid.
        attn_impl: ``'catravs'`` or ``'reference'`` for every attention layer (see
            :class:`catravs.models.utils.MultiheadAttention`; same function).
        test_cfg: ``mask_threshold`` (binary tasks, default 0.5).
        non_finite: ``'raise'`` or ``'skip'`` a step with a non-finite loss or
            gradient (see :class:`BaseAVSegmentor`).
        channels_last: the convolutions in NHWC (see :class:`BaseAVSegmentor`).
    """

    def __init__(self, backbone: dict, neck: dict, audio_encoder: dict, fusion: dict,
                 decoder: dict, head: dict, criterion: dict, task: Task = 'binary',
                 num_classes: int = 1, d_model: int = 256, token_level: int = 1,
                 audio_dropout: float = 0.1, loss_resolution: LossResolution = 'prediction',
                 attn_impl: AttentionImpl = 'catravs', test_cfg: Optional[dict] = None,
                 non_finite: NonFinitePolicy = 'raise', channels_last: bool = False,
                 data_preprocessor: Optional[dict] = None, init_cfg=None) -> None:
        super().__init__(task=task, num_classes=num_classes, non_finite=non_finite,
                         channels_last=channels_last, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if loss_resolution not in ('prediction', 'label'):
            raise ValueError("model.loss_resolution must be 'prediction' or 'label', got "
                             f'{loss_resolution!r}')
        self.token_level = token_level
        self.loss_resolution = loss_resolution
        self.test_cfg = {'mask_threshold': 0.5, **(test_cfg or {})}

        self.backbone = build_model_part(backbone, 'visual_backbone', 'model.backbone')
        neck = copy.deepcopy(neck)
        neck.setdefault('in_channels', list(self.backbone.out_channels))
        self.neck = build_model_part(neck, 'neck', 'model.neck')
        self.audio_encoder = build_model_part(audio_encoder, 'audio_encoder',
                                              'model.audio_encoder')
        self.audio_proj = nn.Sequential(
            nn.Linear(self.audio_encoder.out_channels, d_model),
            nn.LayerNorm(d_model, eps=1e-12), nn.Dropout(audio_dropout))
        self.input_proj = nn.Conv2d(self.neck.out_channels, d_model, 1)
        self.fusion = build_model_part(fusion, 'fusion', 'model.fusion', expects=BaseTokenFusion)
        self.decoder = build_model_part(decoder, 'decoder', 'model.decoder')
        head = copy.deepcopy(head)
        head.setdefault('num_classes', num_classes)
        self.head = build_model_part(head, 'head', 'model.head', expects=BasePerQueryMaskHead)
        criterion = copy.deepcopy(criterion)
        criterion.setdefault('num_classes', num_classes)
        self.criterion = build_model_part(criterion, 'loss', 'model.criterion',
                                          expects=BaseSetCriterion)
        set_attention_impl(self, attn_impl)
        self._set_memory_format()

    # ------------------------------------------------------------------ forward
    def _forward(self, inputs: dict) -> tuple[Tensor, Tensor]:
        """``-> (mask_logits[L, N, Q, H_m, W_m], class_logits[L, N, Q, K+1])``."""
        frames, audio = inputs['frames'], inputs['audio']
        b, t = self._clip_shape(inputs)
        feats = self.neck(self.backbone(frames.flatten(0, 1)))
        audio_tokens = self.audio_proj(self.audio_encoder(audio.flatten(0, 1))).unflatten(0, (b, t))
        tokens = self.input_proj(feats[self.token_level])
        n, c, h, w = tokens.shape
        not_mask = tokens.new_ones((n, h, w), dtype=torch.bool)
        pos = sine_position_embedding(not_mask, c // 2).to(tokens.dtype)
        fused = self.fusion(rearrange(tokens, '(b t) c h w -> b t c h w', b=b),
                            rearrange(pos, '(b t) c h w -> b t c h w', b=b), audio_tokens)
        queries = self.decoder(fused.memory, fused.memory_pos, audio_tokens.flatten(0, 1))
        return self.head(queries, fused.video, feats)

    # --------------------------------------------------------------------- loss
    def loss(self, inputs: dict, data_samples: list[AVSDataSample]) -> dict[str, Tensor]:
        """Set loss on each clip's annotated frames (chosen on the host from the samples'
        meta fields). The classes present in each clip are read from the device once for
        the whole batch (:meth:`_present_classes`)."""
        mask_logits, class_logits = self._forward(inputs)
        t = inputs['frames'].shape[1]
        stride = inputs['frames'].shape[-1] / mask_logits.shape[-1]
        preds, cls, gts = [], [], []
        for i, sample in enumerate(data_samples):
            frames = _frame_index(sample.annotated_flags, i * t)
            if frames is None:
                continue
            img_h, img_w = sample.metainfo.get('img_shape', inputs['frames'].shape[-2:])
            hc, wc = int(round(img_h / stride)), int(round(img_w / stride))
            logits = mask_logits[:, frames, :, :hc, :wc]  # [L, T', Q, hc, wc]
            gt = sample.gt_masks[_shift(frames, -i * t)]  # [T', H, W]
            if self.loss_resolution == 'label':
                logits = F.interpolate(logits.flatten(0, 1), size=gt.shape[-2:], mode='bilinear',
                                       align_corners=False).unflatten(0, logits.shape[:2])
            else:
                gt = F.interpolate(gt[:, None].float(), size=(hc, wc),
                                   mode='nearest')[:, 0].long()
            gts.append(gt)
            preds.append(logits)
            cls.append(class_logits[:, frames])
        if not gts:
            zero = mask_logits.sum() * 0.0 + class_logits.sum() * 0.0
            return dict(loss_cls=zero)
        targets = [self._clip_targets(gt, labels)
                   for gt, labels in zip(gts, self._present_classes(gts))]
        return self.criterion(preds, cls, targets)

    def _present_classes(self, gts: list[Tensor]) -> list[list[int]]:
        """The classes on the valid pixels of each clip's labels ``LongTensor[T', H, W]``,
        ascending (binary: ``[0]`` when the clip has a sounding pixel, else ``[]``): one
        read from the device for all clips."""
        k = 1 if self.task == 'binary' else self.num_classes
        present = []
        for gt in gts:
            valid = gt != IGNORE_INDEX
            if self.task == 'binary':
                present.append(((gt > 0) & valid).any()[None])
            else:  # class k's slot set where a valid pixel has it; slot K takes the rest
                slots = torch.where(valid & (gt >= 0) & (gt < k), gt, k).flatten()
                present.append(torch.zeros(k + 1, dtype=torch.bool, device=gt.device)
                               .index_fill_(0, slots, True)[:k])
        rows = torch.stack(present).cpu().tolist()
        return [[c for c, on in enumerate(row) if on] for row in rows]

    def _clip_targets(self, gt: Tensor, labels: list[int]) -> ClipTargets:
        """``gt: LongTensor[T', h, w]`` and its present classes -> targets."""
        valid = gt != IGNORE_INDEX
        if self.task == 'binary':
            masks = (gt == 1)[None].float()[:len(labels)]
            return ClipTargets(masks=masks, labels=gt.new_zeros(len(labels)), valid=valid)
        label_t = torch.tensor(labels, dtype=torch.long).to(gt.device, non_blocking=True)
        masks = (gt[None] == label_t[:, None, None, None]).float()
        return ClipTargets(masks=masks, labels=label_t, valid=valid)

    # ------------------------------------------------------------------ predict
    @torch.no_grad()
    def predict(self, inputs: dict,
                data_samples: Optional[list[AVSDataSample]] = None) -> list[AVSDataSample]:
        """Per-frame scores of the last decoder layer -> :meth:`_pack_predictions`: binary,
        the mask logit of the query with the highest "sounding" probability; semantic,
        ``sum_q p(k | q) * sigmoid(mask_q)`` per class."""
        mask_logits, class_logits = self._forward(inputs)
        masks = mask_logits[-1].float()  # [N, Q, h, w]
        probs = class_logits[-1].float().softmax(-1)  # [N, Q, K+1]
        if self.task == 'binary':
            best = probs[..., 0].argmax(-1)  # [N]
            scores = masks[torch.arange(masks.shape[0], device=masks.device), best][:, None]
        else:
            scores = torch.einsum('nqk,nqhw->nkhw', probs[..., :-1], masks.sigmoid())
        return self._pack_predictions(scores, inputs, data_samples)


def _frame_index(annotated: list[bool], offset: int) -> slice | list[int] | None:
    """Indices ``offset + j`` of the annotated frames j, as a slice when they are
    consecutive (no index tensor to copy to the device), else a list; None when none."""
    frames = [offset + j for j, on in enumerate(annotated) if on]
    if not frames:
        return None
    if frames == list(range(frames[0], frames[-1] + 1)):
        return slice(frames[0], frames[-1] + 1)
    return frames


def _shift(frames: slice | list[int], by: int) -> slice | list[int]:
    if isinstance(frames, slice):
        return slice(frames.start + by, frames.stop + by)
    return [f + by for f in frames]
