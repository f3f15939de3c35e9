"""Mixed precision on any device: CUDA float16 with loss scaling, CPU bfloat16 without."""
from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.device import is_cuda_available
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from catravs.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AnyDeviceAmpOptimWrapper(AmpOptimWrapper):
    """MMEngine's ``AmpOptimWrapper`` that also runs where there is no GPU.

    With CUDA it is ``AmpOptimWrapper`` (autocast + ``GradScaler``). Without,
    MMEngine's wrapper refuses to start; this one autocasts to ``bfloat16`` on
    the CPU, which needs no loss scaling, and otherwise behaves as
    ``OptimWrapper``. ``tools/train.py --amp`` selects it.
    """

    def __init__(self, loss_scale='dynamic', dtype=None, **kwargs) -> None:
        self.on_cuda = is_cuda_available()
        if self.on_cuda:
            super().__init__(loss_scale=loss_scale, dtype=dtype, **kwargs)
            return
        OptimWrapper.__init__(self, **kwargs)
        self.cast_dtype = torch.bfloat16 if dtype is None else dtype
        if isinstance(self.cast_dtype, str):
            self.cast_dtype = getattr(torch, self.cast_dtype)
        self.loss_scaler = None

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        if self.on_cuda:
            return super().backward(loss, **kwargs)
        return OptimWrapper.backward(self, loss, **kwargs)

    def step(self, **kwargs) -> None:
        if self.on_cuda:
            return super().step(**kwargs)
        return OptimWrapper.step(self, **kwargs)

    def state_dict(self) -> dict:
        if self.on_cuda:
            return super().state_dict()
        return OptimWrapper.state_dict(self)

    def load_state_dict(self, state_dict: dict) -> None:
        if self.on_cuda:
            return super().load_state_dict(state_dict)
        state_dict = {k: v for k, v in state_dict.items() if k != 'loss_scaler'}
        return OptimWrapper.load_state_dict(self, state_dict)

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        if self.on_cuda:
            with super().optim_context(model):
                yield
            return
        with OptimWrapper.optim_context(self, model), \
                torch.autocast(device_type='cpu', dtype=self.cast_dtype):
            yield
