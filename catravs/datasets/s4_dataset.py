"""AVSBench-object single-source (S4) dataset."""
from __future__ import annotations

from catravs.registry import DATASETS

from .base_avs_dataset import BaseAVSDataset, read_csv_rows

__all__ = ['S4Dataset']


@DATASETS.register_module()
class S4Dataset(BaseAVSDataset):
    """S4: 5 frames per clip; training clips have a mask for frame 1 only.

    Layout (relative to ``data_root``; real AVSBench keeps the csv next to
    ``s4_data/``, so set ``data_prefix`` to ``s4_data/visual_frames`` etc.)::

        s4_meta_data.csv            name,start,category,split
        visual_frames/{split}/{category}/{name}/{name}_{1..5}.png
        gt_masks/{split}/{category}/{name}/{name}_{i}.png
        audio_wav/{split}/{category}/{name}.wav
        audio_log_mel/{split}/{category}/{name}.pkl

    ``data_prefix`` keys: ``frames``, ``masks``, ``wav``, ``log_mel``.
    Other args: see :class:`BaseAVSDataset`.
    """

    DEFAULT_ANN_FILE = 's4_meta_data.csv'
    SYNTHAVS_SUBSET = 's4'
    DEFAULT_PREFIX = dict(frames='visual_frames', masks='gt_masks', wav='audio_wav',
                          log_mel='audio_log_mel')
    DEFAULT_NUM_FRAMES = 5
    NATIVE_FRAMES = 5

    def load_clip_list(self) -> list[dict]:
        rows = read_csv_rows(self.ann_file, ('name', 'category', 'split'))
        num_masks = 1 if self.split == 'train' else self.NATIVE_FRAMES
        clips = []
        for line, row in self.split_rows(rows):
            name, cat, split = row['name'].strip(), row['category'].strip(), self.split
            frames = [self.join('frames', split, cat, name, f'{name}_{t}.png')
                      for t in range(1, self.NATIVE_FRAMES + 1)]
            masks = [self.join('masks', split, cat, name, f'{name}_{t}.png')
                     if t <= num_masks else None for t in range(1, self.NATIVE_FRAMES + 1)]
            clips.append(self.make_clip(
                name, cat, frames, masks,
                wav_path=self.join('wav', split, cat, f'{name}.wav'),
                log_mel_path=self.join('log_mel', split, cat, f'{name}.pkl'),
                row=self.row_name(line)))
        return clips
