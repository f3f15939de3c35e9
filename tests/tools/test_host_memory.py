"""``tools/analysis_tools/benchmark.py --huge-pages`` starts catravs' path with large host
tensors on transparent huge pages (``THP_MEM_ALLOC_ENABLE=1``) and leaves the reference
path and ``--compare-reference``'s parent (whose environment the released code's worker
inherits) in the caller's environment; :func:`catravs.utils.host_memory.advised_huge_pages` reads
``smaps`` right.

The tool is run in fresh interpreters (the variable only counts before torch's first
allocation) and the probe is what the kernel reports for a fresh 2 MiB tensor: the ``hg``
flag of its mapping.
"""
from __future__ import annotations

import os
import os.path as osp
import subprocess
import sys

import pytest

from catravs.utils.host_memory import advised_huge_pages
from tests.conftest import REPO_ROOT

PROBE = ('import runpy, sys\n'
         'sys.argv = sys.argv[1:]\n'
         "runpy.run_path(sys.argv[0], run_name='catravs_probe')\n"
         'from catravs.utils.host_memory import large_tensors_on_huge_pages\n'
         'print(large_tensors_on_huge_pages())\n')
needs_thp = pytest.mark.skipif(not osp.exists('/sys/kernel/mm/transparent_hugepage/enabled'),
                               reason='the kernel has no transparent huge pages')


def probe_tool(tool: str, *argv: str) -> str:
    """The probe's answer after running ``tool``'s module top with ``argv``, started
    without ``THP_MEM_ALLOC_ENABLE``."""
    env = {k: v for k, v in os.environ.items() if k != 'THP_MEM_ALLOC_ENABLE'}
    proc = subprocess.run([sys.executable, '-c', PROBE, osp.join(REPO_ROOT, tool), *argv],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


BENCHMARK = 'tools/analysis_tools/benchmark.py'


@needs_thp
@pytest.mark.parametrize('argv, on', [
    (['--huge-pages'], True),
    ([], False),
    # the reference path as the released code's users run it
    (['--huge-pages', '--path', 'reference'], False),
    # --compare-reference's parent: the released code's worker inherits its environment
    (['--huge-pages', '--compare-reference'], False),
])
def test_benchmark_huge_pages_flag_acts_on_catravs_path_only(argv, on):
    assert probe_tool(BENCHMARK, 'CONFIG', *argv) == str(on)


SMAPS = """\
55d000000000-55d000200000 rw-p 00000000 00:00 0                          [heap]
Size:               2048 kB
VmFlags: rd wr mr mw me ac sd
7f0000000000-7f0000400000 rw-p 00000000 00:00 0
Size:               4096 kB
AnonHugePages:      4096 kB
VmFlags: rd wr mr mw me ac sd hg
7f0000400000-7f0000401000 r--p 00000000 08:01 123    /usr/lib/libhg.so
VmFlags: rd mr mw me sd
"""


def test_advised_huge_pages_reads_the_mapping_that_holds_the_address(tmp_path):
    smaps = tmp_path / 'smaps'
    smaps.write_text(SMAPS)
    assert advised_huge_pages(0x55d000000000 + 100, str(smaps)) is False
    assert advised_huge_pages(0x7f0000000000, str(smaps)) is True
    assert advised_huge_pages(0x7f00003fffff, str(smaps)) is True
    # the end is exclusive; a file-backed mapping whose path holds "hg" is not advised
    assert advised_huge_pages(0x7f0000400000, str(smaps)) is False
    assert advised_huge_pages(0x1000, str(smaps)) is None
    assert advised_huge_pages(0x1000, str(tmp_path / 'missing')) is None
