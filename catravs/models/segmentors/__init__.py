from .catr import CATR

__all__ = ['CATR']
