"""``PackAVSInputs``: the last transform of every pipeline."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from catravs.registry import TRANSFORMS
from catravs.structures import AVSDataSample

__all__ = ['PackAVSInputs', 'DEFAULT_META_KEYS']

DEFAULT_META_KEYS = (
    'clip_id', 'category', 'split', 'num_frames', 'frame_paths', 'mask_paths',
    'valid_frames', 'annotated_frames', 'wav_path', 'log_mel_path', 'audio_silence',
    'audio_clip_id', 'sample_idx', 'ori_shape', 'img_shape', 'scale_factor', 'keep_ratio',
    'flip', 'flip_direction', 'crop_bbox', 'affine_matrix')


@TRANSFORMS.register_module()
class PackAVSInputs(BaseTransform):
    """Pack a clip for the model.

    Returns ``dict(inputs=dict(frames=uint8 Tensor[T, 3, H, W] (BGR),
    audio=float32 Tensor[T, ...]), data_samples=AVSDataSample)``; the data sample
    holds ``gt_masks`` (``LongTensor[T, H, W]``, when loaded) and, as metainfo, each
    of ``meta_keys`` present in the results.

    Args:
        meta_keys: result keys copied into the metainfo.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        clip_id = results.get('clip_id', '?')
        if 'frames' not in results:
            raise KeyError(f"clip '{clip_id}': no 'frames' to pack; load them first")
        if 'audio' not in results:
            raise KeyError(f"clip '{clip_id}': no 'audio' to pack; add LoadClipAudio")
        frames = np.stack(results['frames'])                           # [T, H, W, 3]
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"clip '{clip_id}': frames must be [H, W, 3] each, "
                             f'got stacked shape {frames.shape}')
        frames_t = torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)))
        audio = torch.from_numpy(np.ascontiguousarray(results['audio'], dtype=np.float32))
        if audio.shape[0] != frames_t.shape[0]:
            raise ValueError(f"clip '{clip_id}': {frames_t.shape[0]} frames but "
                             f'{audio.shape[0]} audio rows')
        sample = AVSDataSample()
        if results.get('gt_masks') is not None:
            masks = np.asarray(results['gt_masks'])
            if masks.ndim != 3 or masks.shape[0] != frames.shape[0]:
                # H, W may differ from the frames' (labels kept at their own size)
                raise ValueError(f"clip '{clip_id}': gt_masks {masks.shape} do not match "
                                 f'the {frames.shape[0]} frames')
            sample.gt_masks = torch.from_numpy(masks.astype(np.int64))
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=dict(frames=frames_t.to(torch.uint8), audio=audio),
                    data_samples=sample)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
