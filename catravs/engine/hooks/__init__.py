from .atomic_checkpoint_hook import AtomicCheckpointHook
from .clip_visualization_hook import ClipVisualizationHook
from .prediction_writer_hook import PredictionWriterHook
from .rank_zero_logger_hook import RankZeroLoggerHook
from .rng_state_hook import RNGStateHook
from .strict_load_hook import StrictLoadHook

__all__ = ['AtomicCheckpointHook', 'ClipVisualizationHook', 'PredictionWriterHook',
           'RankZeroLoggerHook', 'RNGStateHook', 'StrictLoadHook']
