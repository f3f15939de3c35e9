from .avs_data_sample import IGNORE_INDEX, AVSDataSample

__all__ = ['AVSDataSample', 'IGNORE_INDEX']
