"""Checkpoints load with weights_only=True and an allow-list; pickled code is refused."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from catravs.engine import UnsafeCheckpointError, safe_torch_load


class _RunsCode:
    """Unpickling this object would call os.system: the classic checkpoint attack."""

    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null',))


def mmengine_like_checkpoint() -> dict:
    buffer = HistoryBuffer()
    buffer.update(0.5)
    buffer.update(np.float64(0.25))
    return dict(
        meta=dict(epoch=3, iter=30, seed=123, dataset_meta=dict(classes=('sounding',)),
                  np_value=np.float32(1.5), np_array=np.arange(3)),
        state_dict=dict(weight=torch.ones(2, 2)),
        message_hub=dict(log_scalars={'train/loss': buffer}, runtime_info={'iter': 30}),
        optimizer=torch.optim.Adam([torch.nn.Parameter(torch.ones(1))]).state_dict())


def test_mmengine_checkpoint_loads(tmp_path):
    path = tmp_path / 'epoch_3.pth'
    torch.save(mmengine_like_checkpoint(), path)
    ckpt = _load_checkpoint(str(path), map_location='cpu')  # MMEngine's own entry point
    assert ckpt['meta']['iter'] == 30
    assert isinstance(ckpt['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    torch.testing.assert_close(ckpt['state_dict']['weight'], torch.ones(2, 2))


def test_pickled_callable_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, meta=dict(hook=_RunsCode())), path)
    with pytest.raises(UnsafeCheckpointError, match=r'refusing to load checkpoint .*evil\.pth'):
        _load_checkpoint(str(path), map_location='cpu')
    with pytest.raises(pickle.UnpicklingError):
        safe_torch_load(str(path))


def test_unknown_class_is_refused(tmp_path):
    path = tmp_path / 'unknown.pth'
    torch.save(dict(meta=dict(obj=HistoryBufferSubclass())), path)
    with pytest.raises(UnsafeCheckpointError, match='arbitrary code'):
        _load_checkpoint(str(path), map_location='cpu')


class HistoryBufferSubclass(HistoryBuffer):
    pass


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        safe_torch_load(str(tmp_path / 'nope.pth'))


@pytest.mark.parametrize('keep', [0.5, 0.05])
def test_truncated_checkpoint_given_by_path_is_named(tmp_path, keep):
    """load_from / --resume PATH / test.py CKPT on a cut-off file: an error naming the file."""
    from catravs.engine.safe_checkpoint import DamagedCheckpointError
    path = tmp_path / 'epoch_3.pth'
    torch.save(mmengine_like_checkpoint(), path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(DamagedCheckpointError, match=r'epoch_3\.pth: the file is truncated'):
        _load_checkpoint(str(path), map_location='cpu')
