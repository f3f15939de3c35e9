"""Set criterion: match queries to objects per clip, then mask and class losses."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from mmengine.dist import all_reduce, get_world_size
from torch import Tensor

from catravs.models.builder import build_model_part
from catravs.registry import MODELS

from .base_criterion import BaseSetCriterion
from .base_loss import float32_loss


@dataclass
class ClipTargets:
    """Ground truth of one clip at the prediction resolution.

    Attributes:
        masks: ``FloatTensor[G, T', h, w]`` one binary mask per object over the
            T' annotated frames.
        labels: ``LongTensor[G]`` class of each object.
        valid: ``BoolTensor[T', h, w]`` False on ignored pixels.
    """

    masks: Tensor
    labels: Tensor
    valid: Tensor


@MODELS.register_module()
class MaskSetCriterion(BaseSetCriterion):
    """DETR/Mask2Former-style set loss on every decoder layer.

    ``forward(mask_logits, class_logits, targets) -> dict[str, Tensor]`` with, per
    clip b: ``mask_logits[b]: Tensor[L, T', Q, h, w]``, ``class_logits[b]:
    Tensor[L, T', Q, K+1]`` (annotated frames only) and ``targets[b]:
    ClipTargets``. Losses of layer l < L-1 are reported as ``d{l}.loss_*``.

    Args:
        num_classes: K; the no-object class is index K.
        matcher: config of a ``matcher`` model part.
        loss_cls, loss_focal, loss_dice, loss_bce: configs of ``loss`` parts;
            ``None`` leaves a term out. ``loss_cls.num_classes`` defaults to K.
        aux_loss: also supervise the intermediate decoder layers.
    """

    def __init__(self, num_classes: int, matcher: dict, loss_cls: dict | None = None,
                 loss_focal: dict | None = None, loss_dice: dict | None = None,
                 loss_bce: dict | None = None, aux_loss: bool = True) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.matcher = build_model_part(matcher, 'matcher', 'criterion.matcher')
        self.mask_losses = torch.nn.ModuleDict({
            name: build_model_part(cfg, 'loss', f'criterion.loss_{name}')
            for name, cfg in (('focal', loss_focal), ('dice', loss_dice), ('bce', loss_bce))
            if cfg is not None})
        self.loss_cls = None
        if loss_cls is not None:
            loss_cls = dict(loss_cls)
            loss_cls.setdefault('num_classes', num_classes)
            self.loss_cls = build_model_part(loss_cls, 'loss', 'criterion.loss_cls')
        self.aux_loss = aux_loss

    def _num_masks(self, targets: list[ClipTargets], device: torch.device) -> float | Tensor:
        """Objects in the batch (at least 1): a float from the targets' shapes, or under
        distributed training the mean over ranks as a device tensor (no host read)."""
        num = float(sum(len(t.labels) for t in targets))
        if get_world_size() == 1:
            return max(num, 1.0)
        total = torch.tensor(num, device=device)
        all_reduce(total)
        return (total / get_world_size()).clamp(min=1.0)

    @float32_loss
    def forward(self, mask_logits: list[Tensor], class_logits: list[Tensor],
                targets: list[ClipTargets]) -> dict[str, Tensor]:
        num_layers = mask_logits[0].shape[0]
        num_masks = self._num_masks(targets, mask_logits[0].device)
        layers = list(range(num_layers)) if self.aux_loss else [num_layers - 1]
        # every layer's and clip's matching at once: one copy of the costs to the host
        matches = iter(self.matcher.match_all([
            (m[layer], c[layer], t.masks, t.labels, t.valid)
            for layer in layers for m, c, t in zip(mask_logits, class_logits, targets)]))
        losses: dict[str, Tensor] = {}
        for layer in layers:
            prefix = '' if layer == num_layers - 1 else f'd{layer}.'
            terms = self._layer_losses([m[layer] for m in mask_logits],
                                       [c[layer] for c in class_logits], targets, num_masks,
                                       [next(matches) for _ in targets])
            losses.update({f'{prefix}{k}': v for k, v in terms.items()})
        return losses

    def _layer_losses(self, mask_logits: list[Tensor], class_logits: list[Tensor],
                      targets: list[ClipTargets], num_masks: float | Tensor,
                      matches: list[tuple[Tensor, Tensor]]) -> dict[str, Tensor]:
        preds, gts, valids, cls_logits, cls_targets = [], [], [], [], []
        for masks, logits, tgt, (q_idx, g_idx) in zip(mask_logits, class_logits, targets,
                                                      matches):
            labels = torch.full(logits.shape[:2], self.num_classes, dtype=torch.long,
                                device=logits.device)  # [T', Q]
            labels[:, q_idx] = tgt.labels[g_idx]
            cls_logits.append(logits)
            cls_targets.append(labels)
            if len(q_idx):
                preds.append(rearrange(masks[:, q_idx], 't g h w -> g (t h w)'))
                gts.append(rearrange(tgt.masks[g_idx], 'g t h w -> g (t h w)'))
                valids.append(tgt.valid.flatten()[None].expand(len(g_idx), -1))
        losses = {}
        if self.loss_cls is not None:
            losses['loss_cls'] = self.loss_cls(torch.cat(cls_logits), torch.cat(cls_targets))
        for name, loss in self.mask_losses.items():
            if preds:
                value = sum(loss(p, g, v, num_masks) for p, g, v in zip(preds, gts, valids))
            else:  # no object in the batch: keep the graph connected
                value = sum(m.sum() for m in mask_logits) * 0.0
            losses[f'loss_{name}'] = value
        return losses
