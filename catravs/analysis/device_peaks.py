"""Dense (non-sparse) peak TFLOP/s of known GPUs per compute dtype, for model FLOPs
utilisation (``benchmark.py``: achieved TFLOP/s / peak).

Figures are the vendors' datasheet values for dense arithmetic: where a datasheet gives
only "with sparsity" figures (marked * there), half of that. Sources (NVIDIA datasheets):
H100 Tensor Core GPU (SXM5, PCIe, NVL), H200 Tensor Core GPU (SXM, NVL), A100 Tensor
Core GPU (SXM4 and PCIe, the same compute), L40S, L4, A10; Ada Lovelace architecture
whitepaper appendix (GeForce RTX 4090: tensor figures with float32 accumulation, as
PyTorch's matmuls use); Ampere GA102 whitepaper (GeForce RTX 3090, float32 accumulation).
``tf32`` is the peak of float32 matmuls with TF32 tensor cores allowed
(``torch.backends.cuda.matmul.allow_tf32``); ``fp32`` without.
"""
from __future__ import annotations

import re

import torch

__all__ = ['PEAK_TFLOPS', 'device_peak', 'peak_dtype']

#: (pattern on ``torch.cuda.get_device_name``, card, {dtype: dense TFLOP/s}); first match wins
PEAK_TFLOPS: tuple[tuple[str, str, dict[str, float]], ...] = (
    (r'H100.*PCIe', 'H100 PCIe', dict(fp32=51.0, tf32=378.0, bf16=756.5, fp16=756.5)),
    (r'H100.*NVL', 'H100 NVL', dict(fp32=60.0, tf32=417.5, bf16=835.5, fp16=835.5)),
    (r'H100', 'H100 SXM5', dict(fp32=67.0, tf32=494.5, bf16=989.5, fp16=989.5)),
    (r'H200.*NVL', 'H200 NVL', dict(fp32=60.0, tf32=417.5, bf16=835.5, fp16=835.5)),
    (r'H200', 'H200 SXM', dict(fp32=67.0, tf32=494.5, bf16=989.5, fp16=989.5)),
    (r'A100', 'A100', dict(fp32=19.5, tf32=156.0, bf16=312.0, fp16=312.0)),
    (r'L40S', 'L40S', dict(fp32=91.6, tf32=183.0, bf16=362.05, fp16=362.05)),
    (r'\bL4\b', 'L4', dict(fp32=30.3, tf32=60.0, bf16=121.0, fp16=121.0)),
    (r'\bA10\b', 'A10', dict(fp32=31.2, tf32=62.5, bf16=125.0, fp16=125.0)),
    (r'RTX 4090', 'GeForce RTX 4090', dict(fp32=82.6, tf32=82.6, bf16=165.2, fp16=165.2)),
    (r'RTX 3090', 'GeForce RTX 3090', dict(fp32=35.6, tf32=35.6, bf16=71.0, fp16=71.0)),
)


def peak_dtype(amp_dtype: torch.dtype | None) -> str:
    """``'fp16'`` / ``'bf16'`` under autocast to that dtype; float32: ``'tf32'`` when
    float32 matmuls may use TF32, else ``'fp32'``."""
    if amp_dtype == torch.float16:
        return 'fp16'
    if amp_dtype == torch.bfloat16:
        return 'bf16'
    return 'tf32' if torch.backends.cuda.matmul.allow_tf32 else 'fp32'


def device_peak(device_name: str, dtype: str) -> tuple[str, float] | None:
    """``(card, dense TFLOP/s)`` of the first :data:`PEAK_TFLOPS` entry matching
    ``device_name`` for ``dtype`` (``'fp32'``, ``'tf32'``, ``'bf16'``, ``'fp16'``), or None."""
    for pattern, card, peaks in PEAK_TFLOPS:
        if re.search(pattern, device_name):
            return card, peaks[dtype]
    return None
