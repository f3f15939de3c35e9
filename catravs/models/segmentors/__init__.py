from .avsegformer import AVSegFormer
from .base_av_segmentor import BaseAVSegmentor
from .catr import CATR
from .tpavi import TPAVI

__all__ = ['AVSegFormer', 'BaseAVSegmentor', 'CATR', 'TPAVI']
