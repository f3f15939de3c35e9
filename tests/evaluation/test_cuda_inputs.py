"""Metrics fed CUDA tensors give the CPU numbers (skipped without a GPU)."""
import pytest
import torch

from catravs.evaluation import AVSBinaryMetric, AVSSemanticMetric

from .clip_samples import binary_clip, run_metric, semantic_clip

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')


def to_cuda(clip: dict) -> dict:
    return {k: v.cuda() if isinstance(v, torch.Tensor) else v for k, v in clip.items()}


def test_binary_metric_on_cuda():
    clips = [binary_clip(i, i, empty_frames=(i % 5,)) for i in range(4)]
    cpu = run_metric(AVSBinaryMetric(fscore_batch_size=2), clips, 2)
    gpu = run_metric(AVSBinaryMetric(fscore_batch_size=2), [to_cuda(c) for c in clips], 2)
    assert gpu == pytest.approx(cpu, abs=1e-6)


def test_semantic_metric_on_cuda():
    clips = [semantic_clip(i, i, subset=s) for i, s in enumerate(['v2', 'v1m', 'v1s'])]
    metric = AVSSemanticMetric()
    cpu = run_metric(metric, clips, 2)
    gpu = run_metric(metric, [to_cuda(c) for c in clips], 2)
    assert gpu == pytest.approx(cpu, abs=1e-9)
