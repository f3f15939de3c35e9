"""A crash while a checkpoint is written never leaves a broken checkpoint to resume from."""
from __future__ import annotations

import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio.backends.local_backend import LocalBackend

from catravs.engine.checkpoint_io import (
    atomic_torch_save,
    atomic_write,
    atomic_write_text,
    find_resumable_checkpoint,
    is_complete_checkpoint,
    read_last_checkpoint,
    remove_stale_temp_files,
)
from catravs.engine.safe_checkpoint import safe_torch_load
from tests.engine.test_resume import single_thread_env, tiny_data, train_cmd, write_tiny_config  # noqa: F401 (fixture)


def hidden_files(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.startswith('.'))


def fake_checkpoint(value: float, size: int = 1000) -> dict:
    return dict(meta=dict(iter=int(value)), state_dict=dict(w=torch.full((size,), value)))


# --------------------------------------------------------------------------- file level
def test_failed_write_keeps_the_old_file(tmp_path):
    path = str(tmp_path / 'iter_2.pth')
    atomic_torch_save(fake_checkpoint(2), path)

    def half_then_crash(f):
        f.write(b'PK\x03\x04 partial')
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of torch.save

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, half_then_crash)
    assert safe_torch_load(path)['meta']['iter'] == 2
    assert hidden_files(tmp_path) == []  # the temporary file is cleaned up


def test_sigkill_during_write_keeps_the_old_file(tmp_path):
    """A real SIGKILL half-way through a write: the rename never happens."""
    path = str(tmp_path / 'iter_2.pth')
    script = textwrap.dedent(f'''
        import os, signal, torch
        from catravs.engine.checkpoint_io import atomic_torch_save, atomic_write, atomic_write_text
        path = {path!r}
        atomic_torch_save(dict(meta=dict(iter=2), state_dict=dict(w=torch.ones(1000))), path)
        atomic_write_text({str(tmp_path / 'last_checkpoint')!r}, path)

        def writer(f):
            torch.save(dict(meta=dict(iter=4), state_dict=dict(w=torch.zeros(10**6))), f)
            f.flush()
            f.truncate(f.tell() // 2)  # as if the process died half-way
            os.kill(os.getpid(), signal.SIGKILL)

        atomic_write(path, writer)
    ''')
    proc = subprocess.run([sys.executable, '-c', script], cwd=tmp_path, env=single_thread_env())
    assert proc.returncode == -signal.SIGKILL
    leftovers = hidden_files(tmp_path)
    assert len(leftovers) == 1 and not is_complete_checkpoint(str(tmp_path / leftovers[0]))
    assert is_complete_checkpoint(path) and safe_torch_load(path)['meta']['iter'] == 2
    assert find_resumable_checkpoint(str(tmp_path)) == path
    assert remove_stale_temp_files(str(tmp_path)) == [str(tmp_path / leftovers[0])]
    assert hidden_files(tmp_path) == []


def test_truncated_checkpoint_is_detected(tmp_path):
    full = tmp_path / 'full.pth'
    torch.save(fake_checkpoint(1, size=20000), full)
    data = full.read_bytes()
    assert is_complete_checkpoint(str(full))
    for cut in (0, 10, len(data) // 3, len(data) - 100, len(data) - 1):
        broken = tmp_path / f'cut_{cut}.pth'
        broken.write_bytes(data[:cut])
        assert not is_complete_checkpoint(str(broken)), cut
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # a damaged tensor record fails its CRC
    (tmp_path / 'flipped.pth').write_bytes(bytes(flipped))
    assert not is_complete_checkpoint(str(tmp_path / 'flipped.pth'))


def test_resume_falls_back_to_newest_complete_checkpoint(tmp_path, monkeypatch):
    # record the warning itself: MMEngine's logger may hold a stream that capsys does not see
    warnings: list[str] = []
    monkeypatch.setattr('catravs.engine.checkpoint_io.print_log',
                        lambda msg, **kwargs: warnings.append(msg))
    work_dir = str(tmp_path)
    assert find_resumable_checkpoint(work_dir) is None  # nothing yet: start afresh
    for step in (2, 4, 6):
        atomic_torch_save(fake_checkpoint(step), osp.join(work_dir, f'iter_{step}.pth'))
    atomic_write_text(osp.join(work_dir, 'last_checkpoint'), osp.join(work_dir, 'iter_6.pth'))
    assert find_resumable_checkpoint(work_dir) == osp.join(work_dir, 'iter_6.pth')

    # damaged outside our control (disk full, a copy tool): the newest complete one is used
    with open(osp.join(work_dir, 'iter_6.pth'), 'r+b') as f:
        f.truncate(100)
    assert find_resumable_checkpoint(work_dir) == osp.join(work_dir, 'iter_4.pth')
    assert any('iter_6.pth, which is missing or incomplete' in w for w in warnings)

    for step in (2, 4):
        os.truncate(osp.join(work_dir, f'iter_{step}.pth'), 10)
    with pytest.raises(RuntimeError, match=r'no complete checkpoint .*iter_6\.pth'):
        find_resumable_checkpoint(work_dir)


# --------------------------------------------------------------------------- hook level
def interrupting_put(fail_on: str):
    """LocalBackend.put that writes half of ``fail_on``'s bytes, then raises."""
    original = LocalBackend.put

    def put(self, obj, filepath):
        if osp.basename(str(filepath)).startswith(f'.{fail_on}.tmp-'):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
            raise OSError(28, 'No space left on device')
        return original(self, obj, filepath)

    return put


def test_failed_save_in_training_keeps_previous_checkpoint(tiny_data, tmp_path,  # noqa: F811
                                                           monkeypatch):
    """The 3rd save fails half-way (disk full): iter_2 stays, whole and named by
    last_checkpoint, although max_keep_ckpts=1 (MMEngine deletes it before saving)."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(write_tiny_config(str(tmp_path / 'cfg.py'), tiny_data,
                                            max_iters=3))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.randomness = dict(seed=0, deterministic=False)  # no global switch left behind
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=1, save_best=None)
    cfg.train_cfg.val_interval = 100
    monkeypatch.setattr(LocalBackend, 'put', interrupting_put('iter_3.pth'))
    runner = Runner.from_cfg(cfg)
    with pytest.raises(OSError, match='No space left'):
        runner.train()
    work = cfg.work_dir
    assert read_last_checkpoint(work) == osp.join(work, 'iter_2.pth')
    assert safe_torch_load(osp.join(work, 'iter_2.pth'))['meta']['iter'] == 2
    assert not osp.exists(osp.join(work, 'iter_3.pth'))
    assert not osp.exists(osp.join(work, 'iter_1.pth'))  # rotation still happens
    assert hidden_files(work) == []
    assert find_resumable_checkpoint(work) == osp.join(work, 'iter_2.pth')


DRIVER = '''
import os, os.path as osp, runpy, signal, sys
from mmengine.fileio.backends.local_backend import LocalBackend
original = LocalBackend.put

def put(self, obj, filepath):
    if osp.basename(str(filepath)).startswith('.iter_2.pth.tmp-'):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
            f.flush()
        os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of the write
    return original(self, obj, filepath)

LocalBackend.put = put
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


@pytest.mark.slow
def test_sigkill_while_saving_then_resume(tiny_data, tmp_path):  # noqa: F811
    config = write_tiny_config(str(tmp_path / 'cfg.py'), tiny_data, max_iters=3)
    config_text = open(config).read() + textwrap.dedent('''
        default_hooks.update(checkpoint=dict(
            type='AtomicCheckpointHook', by_epoch=False, interval=1, max_keep_ckpts=2))
        train_cfg.update(val_interval=100)
    ''')
    open(config, 'w').write(config_text)
    (tmp_path / 'driver.py').write_text(DRIVER)
    work = str(tmp_path / 'work')
    env = single_thread_env()
    killed = subprocess.run([sys.executable, str(tmp_path / 'driver.py'),
                             *train_cmd(config, work)[1:]], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:] + killed.stderr[-3000:]
    assert read_last_checkpoint(work) == osp.join(work, 'iter_1.pth')
    assert is_complete_checkpoint(osp.join(work, 'iter_1.pth'))
    assert not osp.exists(osp.join(work, 'iter_2.pth'))
    assert len(hidden_files(work)) == 1  # the half-written temporary file

    resumed = subprocess.run(train_cmd(config, work, '--resume'), cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    log = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, log[-3000:]
    assert 'an interrupted checkpoint write' in log and 'resumed epoch: 0, iter: 1' in log
    assert hidden_files(work) == []
    assert safe_torch_load(osp.join(work, 'iter_3.pth'))['meta']['iter'] == 3
    assert read_last_checkpoint(work) == osp.join(work, 'iter_3.pth')
