from .atomic_checkpoint_hook import AtomicCheckpointHook
from .channels_last_hook import ChannelsLastHook
from .clip_visualization_hook import ClipVisualizationHook
from .compile_forward_hook import CompileForwardHook, compile_forward
from .freeze_modules_hook import FreezeModulesHook
from .prediction_writer_hook import PredictionWriterHook
from .rank_zero_logger_hook import RankZeroLoggerHook
from .rng_state_hook import RNGStateHook
from .strict_load_hook import StrictLoadHook

__all__ = ['AtomicCheckpointHook', 'ChannelsLastHook', 'ClipVisualizationHook',
           'CompileForwardHook', 'FreezeModulesHook', 'PredictionWriterHook',
           'RankZeroLoggerHook', 'RNGStateHook', 'StrictLoadHook', 'compile_forward']
