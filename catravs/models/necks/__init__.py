from .aspp_sum_neck import ASPPSumNeck
from .base_neck import BaseNeck
from .deformable_encoder_neck import DeformableEncoderNeck

__all__ = ['BaseNeck', 'ASPPSumNeck', 'DeformableEncoderNeck']
