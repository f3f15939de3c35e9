"""A non-finite loss stops the run, or skips the step, naming the iteration and clips."""
import pytest
import torch
from mmengine.optim import OptimWrapper

from catravs.registry import MODELS
from tests.conftest import tiny_catr_cfg


def poisoned_model(policy: str):
    torch.manual_seed(0)
    model = MODELS.build(tiny_catr_cfg(non_finite=policy))
    original = model.criterion.forward

    def nan_loss(*args, **kwargs):
        losses = original(*args, **kwargs)
        losses['loss_dice'] = losses['loss_dice'] * float('nan')
        return losses

    model.criterion.forward = nan_loss
    return model


def test_raise_names_iteration_and_clips(make_batch):
    model = poisoned_model('raise')
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(FloatingPointError, match=r'non-finite loss .*loss_dice=nan.* '
                                                 r'clips in the batch: clip0, clip1'):
        model.train_step(make_batch(), wrapper)


def test_skip_leaves_weights_untouched(make_batch):
    model = poisoned_model('skip')
    before = {k: v.clone() for k, v in model.state_dict().items() if v.is_floating_point()}
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    model.train_step(make_batch(), wrapper)
    after = model.state_dict()
    changed = [k for k, v in before.items() if not torch.equal(v, after[k])
               and 'running' not in k]  # BN statistics move in the forward pass
    assert changed == []
    assert all(p.grad is None or not p.grad.abs().sum() for p in model.parameters())


def test_finite_step_updates(make_batch):
    torch.manual_seed(0)
    model = MODELS.build(tiny_catr_cfg())
    weight = model.fusion.spatial_layers[0].ffn.net[0].weight.clone()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log_vars = model.train_step(make_batch(), wrapper)
    assert torch.isfinite(log_vars['loss'])
    assert not torch.equal(weight, model.fusion.spatial_layers[0].ffn.net[0].weight)


def test_non_finite_gradient_with_finite_loss_is_caught(make_batch):
    """The loss is finite, but one parameter's gradient is not: the step is refused."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_catr_cfg(non_finite='raise'))
    weight = model.fusion.spatial_layers[0].ffn.net[0].weight
    weight.register_hook(lambda grad: grad * float('inf'))
    before = weight.detach().clone()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(FloatingPointError, match=r'non-finite gradient of 1 parameters '
                                                 r'\(first: fusion\.spatial_layers\.0\.ffn'):
        model.train_step(make_batch(), wrapper)
    assert torch.equal(before, weight.detach())


@pytest.mark.parametrize('poison', [float('nan'), float('-inf'), 1e30])
def test_gradient_check_flags_nan_and_inf_but_not_large_finite(make_batch, poison):
    """One max-abs reduction over all gradients decides: NaN and -inf are caught; a huge
    but finite gradient (whose 2-norm would overflow float32) is not."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_catr_cfg(non_finite='raise'))
    weight = model.decoder.layers[0].ffn.net[0].weight
    weight.register_hook(lambda grad: torch.full_like(grad, poison))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    if poison == 1e30:
        model.train_step(make_batch(), wrapper)  # no error: every gradient is finite
        return
    with pytest.raises(FloatingPointError, match=r'non-finite gradient of 1 parameters '
                                                 r'\(first: decoder\.layers\.0\.ffn'):
        model.train_step(make_batch(), wrapper)
