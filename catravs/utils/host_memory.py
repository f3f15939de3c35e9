"""Whether PyTorch puts large host tensors on transparent huge pages.

PyTorch's CPU allocator advises every allocation of 2 MiB and more ``MADV_HUGEPAGE``
when the process starts with ``THP_MEM_ALLOC_ENABLE=1`` (read once, at torch's first
allocation; ``tools/analysis_tools/benchmark.py --huge-pages`` sets it for catravs' path).
:func:`large_tensors_on_huge_pages` says what the running process actually does, which the
environment alone cannot tell (torch may have been imported before the variable was set).
"""
from __future__ import annotations

import torch

_PROBE_BYTES = 2 * 1024 ** 2  # PyTorch's threshold for advising huge pages


def advised_huge_pages(address: int, smaps: str = '/proc/self/smaps') -> bool | None:
    """Whether the mapping that holds ``address`` carries the ``hg`` (``MADV_HUGEPAGE``)
    flag in ``smaps``; None where the file cannot be read or has no such mapping."""
    try:
        with open(smaps) as f:
            inside = False
            for line in f:
                head = line.split(maxsplit=1)[0]
                if '-' in head and not head.endswith(':'):
                    start, end = (int(x, 16) for x in head.split('-'))
                    inside = start <= address < end
                elif inside and head == 'VmFlags:':
                    return 'hg' in line.split()[1:]
    except OSError:
        return None
    return None


def large_tensors_on_huge_pages() -> bool | None:
    """Whether a fresh 2 MiB CPU tensor of this process is advised for huge pages
    (Linux only; None elsewhere)."""
    probe = torch.empty(_PROBE_BYTES, dtype=torch.uint8)
    return advised_huge_pages(probe.data_ptr())
