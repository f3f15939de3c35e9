"""The data sample of one clip: ground truth, predictions and meta information."""
from __future__ import annotations

import torch
from mmengine.structures import BaseDataElement

#: the label of a pixel to ignore in ``gt_masks`` (every pixel of an unannotated frame,
#: and padding): no loss, no metric
IGNORE_INDEX = 255


class AVSDataSample(BaseDataElement):
    """One clip of T frames.

    Data fields (all ``Tensor``; H, W = the label size of the sample):
        gt_masks (LongTensor[T, H, W]): binary (0/1) or class-index labels;
            :data:`IGNORE_INDEX` (255) marks pixels to ignore (every pixel of an
            unannotated frame).
        pred_masks (LongTensor[T, H, W]): predicted binary mask or class map.
        seg_logits (Tensor[T, H, W] or Tensor[T, K+1, H, W]): binary mask
            logits, or per-class scores for semantic segmentation.

    Meta fields (set by the dataset and the transforms):
        clip_id (str), category (str), num_frames (int),
        valid_frames (list[bool]): the frame is a real frame, not padding,
        annotated_frames (list[bool]): the frame has a ground-truth mask,
        frame_paths, mask_paths (list[str | None]), ori_shape, img_shape,
        and any geometric flags the transforms add (``flip``, ...).
    """

    def _tensor_field(name: str, doc: str):  # noqa: N805 - class-body helper

        def getter(self):
            return getattr(self, f'_{name}')

        def setter(self, value: torch.Tensor):
            if not isinstance(value, torch.Tensor):
                raise TypeError(f'AVSDataSample.{name} must be a torch.Tensor, '
                                f'got {type(value).__name__}')
            self.set_field(value, f'_{name}', dtype=torch.Tensor)

        def deleter(self):
            del self[f'_{name}']

        return property(getter, setter, deleter, doc)

    gt_masks = _tensor_field('gt_masks', 'LongTensor[T, H, W] ground-truth labels.')
    pred_masks = _tensor_field('pred_masks', 'LongTensor[T, H, W] predicted labels.')
    seg_logits = _tensor_field('seg_logits', 'Tensor[T, (K+1,) H, W] prediction scores.')
    del _tensor_field

    @property
    def annotated_flags(self) -> list[bool]:
        """Per frame: real and carrying a ground-truth mask (host data, from the meta
        fields ``annotated_frames`` and ``valid_frames``)."""
        flags = self.metainfo.get('annotated_frames')
        if flags is None:
            raise KeyError(f"data sample of clip '{self.metainfo.get('clip_id')}' "
                           'has no annotated_frames meta field')
        valid = self.metainfo.get('valid_frames', [True] * len(flags))
        return [bool(a) and bool(v) for a, v in zip(flags, valid)]

    @property
    def annotated(self) -> torch.Tensor:
        """BoolTensor[T] on the CPU: :attr:`annotated_flags`."""
        return torch.tensor(self.annotated_flags)
