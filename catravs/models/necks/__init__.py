from .base_neck import BaseNeck

__all__ = ['BaseNeck']
