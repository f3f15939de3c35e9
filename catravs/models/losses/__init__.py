from .base_criterion import BaseFrameCriterion, BaseSetCriterion
from .base_loss import BaseLoss
from .classification_loss import ClassificationLoss
from .dice_loss import DiceLoss, dice_loss, pairwise_dice_cost
from .iou_mix_loss import IoUMixLoss
from .mask_bce_loss import MaskBCELoss
from .mask_set_criterion import ClipTargets, MaskSetCriterion
from .sigmoid_focal_loss import SigmoidFocalLoss, sigmoid_focal_loss

__all__ = ['BaseFrameCriterion', 'BaseLoss', 'BaseSetCriterion', 'ClassificationLoss',
           'ClipTargets', 'DiceLoss', 'IoUMixLoss', 'MaskBCELoss', 'MaskSetCriterion',
           'SigmoidFocalLoss', 'dice_loss', 'pairwise_dice_cost', 'sigmoid_focal_loss']
