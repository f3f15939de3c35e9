"""AVSBench-object multi-source (MS3) dataset."""
from __future__ import annotations

from catravs.registry import DATASETS

from .base_avs_dataset import BaseAVSDataset, read_csv_rows

__all__ = ['MS3Dataset']


@DATASETS.register_module()
class MS3Dataset(BaseAVSDataset):
    """MS3: 5 frames per clip, all annotated.

    Layout (relative to ``data_root``; real AVSBench keeps the csv next to
    ``ms3_data/``)::

        ms3_meta_data.csv           first column: video id; a 'split' column
        visual_frames/{name}/{name}.mp4_{1..5}.png        (no split folder)
        gt_masks/{split}/{name}/{name}_{1..5}.png
        audio_wav/{split}/{name}.wav
        audio_log_mel/{split}/{name}.pkl

    ``data_prefix`` keys: ``frames``, ``masks``, ``wav``, ``log_mel``.
    The category of every clip is ``''``.
    """

    DEFAULT_ANN_FILE = 'ms3_meta_data.csv'
    SYNTHAVS_SUBSET = 'ms3'
    DEFAULT_PREFIX = dict(frames='visual_frames', masks='gt_masks', wav='audio_wav',
                          log_mel='audio_log_mel')
    DEFAULT_NUM_FRAMES = 5
    NATIVE_FRAMES = 5

    def load_clip_list(self) -> list[dict]:
        rows = read_csv_rows(self.ann_file, ('split',))
        id_column = next(iter(rows[0])) if rows else 'video_id'
        clips = []
        for line, row in self.split_rows(rows):
            name, split = row[id_column].strip(), self.split
            frames = [self.join('frames', name, f'{name}.mp4_{t}.png')
                      for t in range(1, self.NATIVE_FRAMES + 1)]
            masks = [self.join('masks', split, name, f'{name}_{t}.png')
                     for t in range(1, self.NATIVE_FRAMES + 1)]
            clips.append(self.make_clip(
                name, '', frames, masks,
                wav_path=self.join('wav', split, f'{name}.wav'),
                log_mel_path=self.join('log_mel', split, f'{name}.pkl'),
                row=self.row_name(line)))
        return clips
