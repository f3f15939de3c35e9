from .aspp_sum_neck import ASPPSumNeck
from .base_neck import BaseNeck

__all__ = ['BaseNeck', 'ASPPSumNeck']
