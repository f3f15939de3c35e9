"""Base class of the 'loss' model-part category."""
from mmengine.model import BaseModule

from catravs.registry import model_part_category


@model_part_category('loss')
class BaseLoss(BaseModule):
    """A loss term; subclasses document their inputs and return a scalar Tensor."""
