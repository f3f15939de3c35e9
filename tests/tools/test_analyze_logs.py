"""tools/analysis_tools/analyze_logs.py plot_curve on synthetic MMEngine json scalars."""
from __future__ import annotations

import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO_ROOT

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'analyze_logs.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('analyze_logs', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_run(work_dir: str, stamp: str, epochs: range, iters_per_epoch: int = 5,
              offset: float = 0.0) -> None:
    folder = osp.join(work_dir, stamp, 'vis_data')
    os.makedirs(folder)
    with open(osp.join(folder, 'scalars.json'), 'w') as f:
        for epoch in epochs:
            for i in range(iters_per_epoch):
                it = (epoch - 1) * iters_per_epoch + i + 1
                f.write(json.dumps(dict(loss=10 / it + offset, lr=1e-3, epoch=epoch, iter=it,
                                        step=it)) + '\n')
            f.write(json.dumps({'mIoU': 0.1 * epoch + offset, 'F-score': 0.2, 'step': epoch})
                    + '\n')


def test_curves_of_two_runs_one_resumed(tmp_path, capsys):
    tool = load_tool()
    run_a, run_b = str(tmp_path / 'run_a'), str(tmp_path / 'run_b')
    write_run(run_a, '20260101_000000', range(1, 3))
    write_run(run_a, '20260101_010000', range(3, 5))  # resumed: a second run folder
    write_run(run_b, '20260102_000000', range(1, 5), offset=0.2)
    curves = tool.load_curves(run_a, ['loss', 'mIoU'])
    assert curves['mIoU'][0] == [1.0, 2.0, 3.0, 4.0] and curves['mIoU'][2] is False
    assert curves['loss'][0] == [float(i) for i in range(1, 21)] and curves['loss'][2] is True
    out = str(tmp_path / 'curves.png')
    assert tool.main(['plot_curve', run_a, run_b, '--keys', 'loss', 'mIoU', '--out', out]) == 0
    image = np.array(Image.open(out))
    assert image.shape[1] > image.shape[0] > 200  # two panels side by side
    assert 'wrote' in capsys.readouterr().out


def test_legend_names_and_errors(tmp_path, capsys, monkeypatch):
    tool = load_tool()
    run = str(tmp_path / 'run')
    write_run(run, '20260101_000000', range(1, 3))
    names = []
    import matplotlib.axes
    original = matplotlib.axes.Axes.plot

    def spy(self, *args, **kwargs):
        names.append(kwargs.get('label'))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, 'plot', spy)
    tool.plot_curve([run], ['mIoU'], str(tmp_path / 'a.png'))
    tool.plot_curve([run], ['mIoU'], str(tmp_path / 'b.png'), legends=['baseline'])
    assert names == ['run', 'baseline']
    assert tool.main(['plot_curve', run, '--keys', 'nope', '--out', str(tmp_path / 'c.png')]) == 1
    assert "'nope'" in capsys.readouterr().err
    assert tool.main(['plot_curve', str(tmp_path / 'missing')]) == 1
    assert 'missing' in capsys.readouterr().err
    with pytest.raises(ValueError, match='legends'):
        tool.plot_curve([run], ['loss'], str(tmp_path / 'd.png'), legends=['a', 'b'])


def test_y_values_and_a_resumed_run_that_logs_steps_twice(tmp_path, monkeypatch):
    """Run 2 resumes from epoch 1's checkpoint and logs epoch 2 again (iterations 6-10 and
    its validation) with other values: each step appears once, with the later value, on the
    curve and in the plotted line."""
    tool = load_tool()
    run = str(tmp_path / 'run')
    write_run(run, '20260101_000000', range(1, 3))               # iterations 1-10, epochs 1-2
    write_run(run, '20260101_010000', range(2, 4), offset=1.0)   # epochs 2-3 again, +1.0
    x, y, training = tool.load_curves(run, ['loss'])['loss']
    assert training and x == [float(i) for i in range(1, 16)]
    expected = [10 / i for i in range(1, 6)] + [10 / i + 1.0 for i in range(6, 16)]
    np.testing.assert_allclose(y, expected)
    x, y, training = tool.load_curves(run, ['mIoU'])['mIoU']
    assert not training and x == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(y, [0.1, 1.2, 1.3])
    plotted = []
    import matplotlib.axes
    original = matplotlib.axes.Axes.plot

    def spy(self, *args, **kwargs):
        plotted.append((list(args[0]), list(args[1])))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, 'plot', spy)
    tool.plot_curve([run], ['mIoU'], str(tmp_path / 'm.png'))
    assert len(plotted) == 1
    np.testing.assert_allclose(plotted[0][0], [1, 2, 3])
    np.testing.assert_allclose(plotted[0][1], [0.1, 1.2, 1.3])
