"""Autocast without loss scaling, on any device: the released CATR ``train.py``'s AMP."""
from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from catravs.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` (forward and loss) runs under
    ``torch.autocast(device, dtype)``; backward and the step are plain, with no
    ``GradScaler``.

    This is how the released CATR ``train.py`` uses AMP (``autocast(enabled=enable_amp)``
    around the model and the criterion, then ``backward``, gradient clipping and
    ``Adam.step`` unscaled), so ``benchmark.py --compare-reference --amp`` times the
    reference path this way. For training, :class:`AnyDeviceAmpOptimWrapper` (float16 on
    CUDA with loss scaling) is the safer choice.

    Args:
        dtype: ``'float16'``, ``'bfloat16'`` or a ``torch.dtype`` (default: float16 on
            CUDA, bfloat16 elsewhere).
        device_type: the autocast device (default: that of the model's first parameter).
    """

    def __init__(self, dtype: str | torch.dtype | None = None,
                 device_type: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        device = self.device_type or next(
            (p.device.type for p in model.parameters()), 'cpu')
        dtype = self.cast_dtype or (torch.float16 if device == 'cuda' else torch.bfloat16)
        with super().optim_context(model), torch.autocast(device_type=device, dtype=dtype):
            yield
