"""Dropout masks drawn fast on the CPU; dropout that keeps its mask as bits; a fused
ReLU + dropout that keeps only its output.

Why: on CPUs where PyTorch does not take its MKL path for ``bernoulli_`` (every non-Intel
CPU), dropout masks are drawn one element at a time from a Mersenne twister; on the
AMD EPYC of ``docs/benchmark.md`` that was 2 s of a 10 s CATR training step. A counter-free
generator of numpy (SFC64) fills the same mask about 3x faster. Its seed is drawn from
PyTorch's default generator, so ``torch.manual_seed`` still makes a run repeatable.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

_SEED_HIGH = 2**62
_CHUNK = 1 << 22


def keep_mask(shape: tuple[int, ...] | torch.Size, p: float,
              device: torch.device | str = 'cpu') -> Tensor:
    """``BoolTensor[shape]``: True with probability ``1 - p`` (elements dropout keeps).

    On the CPU the uniforms come from numpy's SFC64 seeded by one draw of PyTorch's
    default generator; on other devices from ``torch.rand`` on that device.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f'dropout probability must be in [0, 1), got {p}')
    device = torch.device(device)
    if device.type != 'cpu':
        return torch.rand(shape, device=device) >= p
    seed = int(torch.randint(_SEED_HIGH, (1,)).item())
    generator = np.random.Generator(np.random.SFC64(seed))
    keep = np.empty(int(np.prod(shape, dtype=np.int64)), dtype=np.bool_)
    for start in range(0, keep.size, _CHUNK):  # uniforms a chunk at a time: small temporaries
        part = keep[start:start + _CHUNK]
        np.greater_equal(generator.random(part.size, dtype=np.float32), np.float32(p), out=part)
    return torch.from_numpy(keep).view(tuple(shape))


def pack_mask(mask: Tensor) -> Tensor:
    """A boolean CPU mask as bits: ``BoolTensor[...] -> UInt8Tensor[ceil(numel / 8)]``
    (other devices: the mask itself). Undo with :func:`unpack_mask`."""
    if mask.device.type != 'cpu':
        return mask
    return torch.from_numpy(np.packbits(mask.contiguous().numpy().reshape(-1)))


def unpack_mask(packed: Tensor, shape: tuple[int, ...] | torch.Size) -> Tensor:
    """The ``BoolTensor[shape]`` that :func:`pack_mask` packed."""
    if packed.dtype == torch.bool:
        return packed.view(tuple(shape))
    count = int(np.prod(shape, dtype=np.int64))
    bits = np.unpackbits(packed.numpy(), count=count)
    return torch.from_numpy(bits).view(torch.bool).view(tuple(shape))


class _ReLUDropout(torch.autograd.Function):
    """``relu(x) * keep / (1 - p)``; saves only its output.

    The gradient is ``grad / (1 - p)`` where the output is positive and 0 elsewhere:
    an element is positive exactly when ReLU passed it and dropout kept it, so neither
    the input nor the mask has to be kept for backward.
    """

    @staticmethod
    def forward(ctx, x: Tensor, p: float) -> Tensor:
        scale = 1.0 / (1.0 - p)
        out = torch.relu(x)
        out.mul_(keep_mask(x.shape, p, x.device)).mul_(scale)
        ctx.scale = scale
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        (out,) = ctx.saved_tensors
        return grad.mul(out > 0).mul_(ctx.scale), None


class _Dropout(torch.autograd.Function):
    """``x * keep / (1 - p)``; saves the mask as bits (``F.dropout`` on the CPU keeps a
    float noise tensor: 32 times as much)."""

    @staticmethod
    def forward(ctx, x: Tensor, p: float) -> Tensor:
        keep = keep_mask(x.shape, p, x.device)
        ctx.scale = 1.0 / (1.0 - p)
        ctx.save_for_backward(pack_mask(keep))
        return x.mul(keep).mul_(ctx.scale)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (packed,) = ctx.saved_tensors
        return grad.mul(unpack_mask(packed, grad.shape)).mul_(ctx.scale), None


@torch.compiler.disable  # numpy draws the masks: run eagerly, a clean graph break
def dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    """``F.dropout(x, p, training)`` that keeps one bit per element for backward:
    ``Tensor[...] -> Tensor[...]``."""
    if not training or p == 0.0:
        return x
    return _Dropout.apply(x, p)


@torch.compiler.disable
def relu_dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    """``dropout(relu(x), p)`` with the memory of a bare ReLU: ``Tensor[...] -> Tensor[...]``."""
    if not training or p == 0.0:
        return torch.relu(x)
    return _ReLUDropout.apply(x, p)
