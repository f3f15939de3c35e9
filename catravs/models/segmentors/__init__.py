from .avsegformer import AVSegFormer
from .base_av_segmentor import BaseAVSegmentor
from .catr import CATR

__all__ = ['AVSegFormer', 'BaseAVSegmentor', 'CATR']
