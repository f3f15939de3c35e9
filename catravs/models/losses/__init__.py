from .av_matching_loss import AudioVisualMatchingLoss
from .base_criterion import BaseDenseCriterion, BaseFrameCriterion, BaseSetCriterion
from .base_loss import BaseLoss
from .classification_loss import ClassificationLoss
from .dice_loss import DiceLoss, dice_loss, pairwise_dice_cost
from .frame_cross_entropy_loss import FrameCrossEntropyLoss
from .iou_mix_loss import IoUMixLoss
from .mask_bce_loss import MaskBCELoss
from .mask_set_criterion import ClipTargets, MaskSetCriterion
from .sigmoid_focal_loss import SigmoidFocalLoss, sigmoid_focal_loss
from .tpavi_criterion import TPAVICriterion

__all__ = ['AudioVisualMatchingLoss', 'BaseDenseCriterion', 'BaseFrameCriterion', 'BaseLoss',
           'BaseSetCriterion', 'ClassificationLoss', 'ClipTargets', 'DiceLoss',
           'FrameCrossEntropyLoss', 'IoUMixLoss', 'MaskBCELoss', 'MaskSetCriterion',
           'SigmoidFocalLoss', 'TPAVICriterion', 'dice_loss', 'pairwise_dice_cost',
           'sigmoid_focal_loss']
