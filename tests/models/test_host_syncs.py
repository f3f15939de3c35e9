"""Host syncs of one training step: counted, and at the minimum the algorithm needs."""
import os.path as osp

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from catravs.analysis import benchmarking
from catravs.analysis.host_syncs import HostSyncCounter
from catravs.apis import load_config
from tests.conftest import REPO_ROOT

CONFIGS = osp.join(REPO_ROOT, 'configs')


def test_counter_kinds_and_one_read_per_storage() -> None:
    x = torch.randn(4, 4)
    with HostSyncCounter() as c:
        x.sum().item()            # item
        x[x > 0]                  # boolean mask
        x.nonzero()               # data-dependent size
        np.asarray(x[0])          # reads x's storage ...
        np.asarray(x[1])          # ... not again
        x[2, 0].item()            # a value of a storage already on the host
        x.add(1).tolist()         # a new storage
    assert c.counts == dict(item=1, data_dependent=2, host_read=2), c.where
    step = torch.zeros(())
    with HostSyncCounter('cpu', host_tensors=[step]) as c:
        step.item()               # the host tensors of a CUDA run are free
    assert c.total == 0


def _step_counts(config: str, plant=None):
    """Host syncs of one tiny training step (after one to create the optimizer state)."""
    cfg = load_config(osp.join(CONFIGS, config), None)
    torch.manual_seed(0)
    model, _ = benchmarking.build_model(
        benchmarking.prepare_model_cfg(cfg.model.to_dict(), 'ours'), 'ours', 'cpu')
    batch = benchmarking.synthetic_batch(model, 2, 2, 32, 32, 'binary', 1, 'first')
    model.train()
    wrapper = benchmarking._optim_wrapper(model, cfg, False, torch.float32)
    model.train_step(batch, wrapper)
    if plant is not None:
        plant(model)
    host = [v for s in wrapper.optimizer.state.values() for k, v in s.items() if k == 'step']
    return benchmarking.count_step(lambda: model.train_step(batch, wrapper), 'cpu',
                                   host)['host_syncs']


def _plant_item(model) -> None:
    loss = model.loss

    def with_item(*args, **kwargs):
        losses = loss(*args, **kwargs)
        next(iter(losses.values())).detach().item()  # a planted .item() in the loss
        return losses

    model.loss = with_item


@pytest.mark.parametrize('config, want', [
    # the classes present in the batch's clips (1 read for all clips), the matcher's costs
    # (1 copy for all clips and decoder layers), the step's non-finite check with the
    # logged loss terms (1), MMEngine's gradient-clipping log of the norm (1)
    ('catr/catr_tiny_synthavs.py', dict(total=4, host_read=3, item=1)),
    # the step's non-finite check with the logged loss terms (its config clips no gradient)
    ('avsegformer/avsegformer_tiny_synthavs.py', dict(total=1, host_read=1)),
])
def test_training_step_syncs_at_the_minimum(config, want) -> None:
    syncs = _step_counts(config)
    assert {k: v for k, v in syncs.items() if k != 'where' and v} == want, syncs['where']
    planted = _step_counts(config, _plant_item)
    assert planted['total'] == want['total'] + 1 and planted['item'] == want.get('item', 0) + 1


def test_match_all_solves_each_problem_as_scipy_does() -> None:
    """Several clips and layers through one host copy: the assignments scipy gives on each
    cost matrix alone; a clip without objects gets empty indices."""
    from catravs.models.task_modules import HungarianMatcher
    torch.manual_seed(0)
    matcher = HungarianMatcher()
    problems = []
    for g in (2, 0, 3):
        masks, logits = torch.randn(2, 5, 4, 4), torch.randn(2, 5, 4)
        gt = (torch.rand(g, 2, 4, 4) > 0.5).float()
        problems.append((masks, logits, gt, torch.randint(0, 3, (g,)),
                         torch.ones(2, 4, 4, dtype=torch.bool)))
    with HostSyncCounter() as c:
        found = matcher.match_all(problems)
    assert c.total == 1, c.where
    for args, (q_idx, g_idx) in zip(problems, found):
        if args[3].numel() == 0:
            assert q_idx.numel() == g_idx.numel() == 0
            continue
        want = linear_sum_assignment(matcher.cost(*args).numpy())
        assert q_idx.tolist() == list(want[0]) and g_idx.tolist() == list(want[1])
        assert q_idx.dtype == torch.long
