from .atomic_checkpoint_hook import AtomicCheckpointHook
from .clip_visualization_hook import ClipVisualizationHook
from .freeze_modules_hook import FreezeModulesHook
from .prediction_writer_hook import PredictionWriterHook
from .rank_zero_logger_hook import RankZeroLoggerHook
from .rng_state_hook import RNGStateHook

__all__ = ['AtomicCheckpointHook', 'ClipVisualizationHook', 'FreezeModulesHook',
           'PredictionWriterHook', 'RankZeroLoggerHook', 'RNGStateHook']
