"""Draw clips with their ground-truth and predicted masks."""
from __future__ import annotations

from typing import Optional

import cv2
import mmcv
import numpy as np
from mmengine.visualization import Visualizer

from catravs.datasets.palette import voc_palette
from catravs.registry import VISUALIZERS
from catravs.structures import IGNORE_INDEX, AVSDataSample


def overlay_mask(frame: np.ndarray, mask: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend a label map onto a frame.

    Args:
        frame: ``uint8[H, W, 3]`` RGB.
        mask: ``int[h, w]`` class indices (binary: 0/1); 255 is left undrawn.
        alpha: opacity of the colours.

    Returns:
        ``uint8[H, W, 3]`` RGB; class c is drawn in the AVSBench (VOC) colour of c,
        binary foreground in red.
    """
    if mask.shape != frame.shape[:2]:
        mask = cv2.resize(mask.astype(np.uint8), frame.shape[1::-1],
                          interpolation=cv2.INTER_NEAREST)
    colours = voc_palette(256)[mask.astype(np.int64)].astype(np.float32)
    drawn = (mask > 0) & (mask != IGNORE_INDEX)
    out = frame.astype(np.float32)
    out[drawn] = (1 - alpha) * out[drawn] + alpha * colours[drawn]
    return out.clip(0, 255).astype(np.uint8)


@VISUALIZERS.register_module()
class AVSVisualizer(Visualizer):
    """Visualizer that lays out a clip as rows of frames: ground truth, then prediction.

    ``add_datasample(name, image=None, data_sample=...)`` reads the frames
    from ``data_sample.frame_paths`` (or takes ``image``: list of T RGB frames)
    and sends one image to the visualizer's backends (local files,
    TensorBoard), or writes it to ``out_file``.
    """

    def __init__(self, name: str = 'visualizer', alpha: float = 0.5, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.alpha = alpha

    @staticmethod
    def read_frames(data_sample: AVSDataSample) -> list[np.ndarray]:
        frames = []
        for path in data_sample.metainfo.get('frame_paths', []):
            if path is None:  # padding frame
                frames.append(None)
            else:
                frames.append(mmcv.imread(path, channel_order='rgb'))
        size = next((f.shape for f in frames if f is not None), (64, 64, 3))
        return [np.zeros(size, np.uint8) if f is None else f for f in frames]

    def draw_clip(self, frames: list[np.ndarray], data_sample: AVSDataSample,
                  draw_gt: bool = True, draw_pred: bool = True) -> np.ndarray:
        """``-> uint8[rows * H, T * W, 3]``: one row per drawn label set."""
        rows = []
        for key, enabled in (('gt_masks', draw_gt), ('pred_masks', draw_pred)):
            if enabled and key in data_sample:
                masks = getattr(data_sample, key).cpu().numpy()
                rows.append(np.concatenate(
                    [overlay_mask(f, m, self.alpha) for f, m in zip(frames, masks)], axis=1))
        if not rows:
            rows.append(np.concatenate(frames, axis=1))
        return np.concatenate(rows, axis=0)

    def add_datasample(self, name: str, image: Optional[list[np.ndarray]] = None,
                       data_sample: Optional[AVSDataSample] = None, draw_gt: bool = True,
                       draw_pred: bool = True, show: bool = False, wait_time: float = 0,
                       out_file: Optional[str] = None, step: int = 0) -> np.ndarray:
        if data_sample is None:
            raise ValueError('AVSVisualizer.add_datasample needs a data_sample')
        frames = image if image is not None else self.read_frames(data_sample)
        drawn = self.draw_clip(frames, data_sample, draw_gt, draw_pred)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)
        return drawn
