from .prediction_writer_hook import PredictionWriterHook

__all__ = ['PredictionWriterHook']
