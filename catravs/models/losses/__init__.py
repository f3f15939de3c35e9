from .base_loss import BaseLoss

__all__ = ['BaseLoss']
