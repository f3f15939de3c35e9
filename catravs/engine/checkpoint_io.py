"""Crash-safe checkpoint files and the random state that exact resume needs.

Writing: a checkpoint (or the ``last_checkpoint`` pointer) is written to a
hidden temporary file in the destination folder, flushed and ``fsync``-ed, then
renamed over the destination with :func:`os.replace` (atomic on POSIX and on
Windows within one file system), and the folder is ``fsync``-ed so that the
rename itself survives a power cut. A process killed at any moment leaves
either the old file or the complete new one, plus at most a stray temporary
file that :func:`remove_stale_temp_files` deletes.

Reading: :func:`find_resumable_checkpoint` is what ``tools/train.py --resume``
uses instead of trusting ``last_checkpoint`` blindly: the checkpoint it names
must be complete (the zip archive that ``torch.save`` writes passes its CRC
checks); otherwise the newest complete ``iter_*.pth`` / ``epoch_*.pth`` is
taken, with a warning.

Random state: :func:`get_rng_state` / :func:`set_rng_state` capture and
restore Python's ``random``, NumPy's global generator, torch's CPU generator
and, where present, the CUDA generators, in a form that the weights-only
checkpoint loader accepts (tensors, builtins).
"""
from __future__ import annotations

import os
import os.path as osp
import random
import re
import uuid
import zipfile
from collections.abc import Callable
from typing import Any, BinaryIO, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_world_size, is_distributed
from mmengine.logging import print_log

#: temporary files are ``.{final name}.tmp-{pid}-{random}`` in the final folder
_TMP_RE = re.compile(r'^\..+\.tmp-\d+-[0-9a-f]{8}$')
#: the names MMEngine's CheckpointHook gives regular checkpoints
_CKPT_RE = re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')
LAST_CHECKPOINT = 'last_checkpoint'


# --------------------------------------------------------------------------- writing
def fsync_dir(path: str) -> None:
    """``fsync`` a folder so that a rename inside it is durable (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_path_for(path: str) -> str:
    """A hidden temporary name next to ``path``, unique to this process and call."""
    folder, name = osp.split(osp.abspath(path))
    return osp.join(folder, f'.{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}')


def commit_file(tmp_path: str, path: str) -> None:
    """Make the finished ``tmp_path`` durable and atomically rename it to ``path``."""
    with open(tmp_path, 'rb+') as f:
        os.fsync(f.fileno())
    os.replace(tmp_path, path)
    fsync_dir(osp.dirname(osp.abspath(path)))


def atomic_write(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Create or replace ``path`` with what ``write(file)`` writes, atomically.

    Readers see the old content or the complete new content, never a part: the
    data goes to a temporary file in the same folder first (removed again if
    ``write`` raises).
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = temp_path_for(path)
    try:
        with open(tmp, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    fsync_dir(osp.dirname(osp.abspath(path)))


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Atomically create or replace ``path`` with ``data``."""
    atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: str, text: str) -> None:
    """Atomically create or replace ``path`` with ``text`` (UTF-8)."""
    atomic_write_bytes(path, text.encode('utf-8'))


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save(obj, path)``, atomically."""
    atomic_write(path, lambda f: torch.save(obj, f))


def remove_stale_temp_files(folder: str) -> list[str]:
    """Delete the temporary files that killed atomic writes left in ``folder``.

    Only call this when no other process writes into ``folder``.

    Returns:
        the paths removed.
    """
    removed = []
    if not osp.isdir(folder):
        return removed
    for name in os.listdir(folder):
        path = osp.join(folder, name)
        if _TMP_RE.match(name) and osp.isfile(path):
            os.remove(path)
            removed.append(path)
    return removed


# --------------------------------------------------------------------------- reading
def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` holds a whole checkpoint.

    ``torch.save`` writes a zip archive: it is complete when the central
    directory can be read and every member passes its CRC check (a truncated
    or partly overwritten file fails). A file in the legacy (non-zip) format
    cannot be checked this way and counts as complete when it is not empty.
    """
    if not osp.isfile(path) or osp.getsize(path) == 0:
        return False
    if not zipfile.is_zipfile(path):
        with open(path, 'rb') as f:
            head = f.read(4)
        # a zip signature with an unreadable directory is a truncated archive
        return head != b'PK\x03\x04'
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def read_last_checkpoint(work_dir: str) -> Optional[str]:
    """The path that ``{work_dir}/last_checkpoint`` names, or None."""
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(pointer):
        return None
    with open(pointer, encoding='utf-8') as f:
        target = f.read().strip()
    return target or None


def list_checkpoints(folder: str) -> list[str]:
    """``epoch_*.pth`` / ``iter_*.pth`` in ``folder``, newest (highest number) first."""
    if not osp.isdir(folder):
        return []
    found = [(int(m.group(1)), name) for name in os.listdir(folder)
             if (m := _CKPT_RE.match(name))]
    return [osp.join(folder, name) for _, name in sorted(found, reverse=True)]


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint that ``--resume`` (without a path) should continue from.

    The file that ``last_checkpoint`` names when it is complete; otherwise the
    newest complete ``epoch_*.pth`` / ``iter_*.pth`` of that file's folder or of
    ``work_dir`` (logged as a warning).

    Returns:
        the path, or None when the work dir holds no checkpoint at all.

    Raises:
        RuntimeError: checkpoints exist, but none of them is complete.
    """
    named = read_last_checkpoint(work_dir)
    if named is not None and not osp.isabs(named) and not osp.exists(named):
        named = osp.join(work_dir, named)
    if named is not None and is_complete_checkpoint(named):
        return named
    folders = [work_dir] if named is None else [osp.dirname(named) or work_dir, work_dir]
    candidates: list[str] = []
    for folder in folders:
        candidates += [c for c in list_checkpoints(folder) if c not in candidates]
    for candidate in candidates:
        if is_complete_checkpoint(candidate):
            if named is not None:
                print_log(f'{osp.join(work_dir, LAST_CHECKPOINT)} names {named}, which is '
                          f'missing or incomplete; resuming from {candidate} instead',
                          logger='current', level=30)
            return candidate
    if named is None and not candidates:
        return None
    broken = ([named] if named else []) + candidates
    raise RuntimeError(f'cannot resume from {work_dir}: no complete checkpoint there '
                       f'(missing or damaged: {", ".join(broken)}). Pass a checkpoint with '
                       '--resume PATH, or start without --resume.')


# --------------------------------------------------------------------------- random state
RNGState = dict[str, Any]


def get_rng_state() -> RNGState:
    """This process's random state: Python, NumPy (global), torch CPU and CUDA.

    Only tensors and builtins, so that a weights-only loader reads it back.
    """
    np_state = np.random.get_state(legacy=False)
    state: RNGState = dict(
        python=random.getstate(),
        numpy=dict(bit_generator=np_state['bit_generator'],
                   key=torch.from_numpy(np_state['state']['key'].astype(np.int64)),
                   pos=int(np_state['state']['pos']),
                   has_gauss=int(np_state['has_gauss']),
                   gauss=float(np_state['gauss'])),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: RNGState) -> None:
    """Restore a state from :func:`get_rng_state`."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    np_state = state['numpy']
    np.random.set_state(dict(
        bit_generator=np_state['bit_generator'],
        state=dict(key=np_state['key'].numpy().astype(np.uint32), pos=np_state['pos']),
        has_gauss=np_state['has_gauss'], gauss=np_state['gauss']))
    torch.set_rng_state(state['torch'].cpu())
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available():
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
        else:
            print_log(f'the checkpoint holds the CUDA random state of {len(cuda)} devices, '
                      f'this machine has {torch.cuda.device_count()}: CUDA random state '
                      'not restored', logger='current', level=30)


def gather_rng_states() -> list[RNGState]:
    """The random state of every rank, in rank order (a collective: call on all ranks)."""
    state = get_rng_state()
    if not is_distributed() or get_world_size() == 1:
        return [state]
    return all_gather_object(state)
