"""Loss terms and the set criterion, each against an oracle written out in the test.

Oracles: torchvision's focal loss reduced by hand, the released code's formulas
(``model/segmentation.py`` ``sigmoid_focal_loss`` / ``dice_loss``, ``loss.py``
``F1_IoU_BCELoss``, ``model/criterion.py`` ``loss_is_referred``) re-typed from their
definitions, and numbers worked out from the formulas on tiny masks.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss as tv_focal

from catravs.models.losses import (
    ClassificationLoss,
    ClipTargets,
    DiceLoss,
    MaskBCELoss,
    MaskSetCriterion,
    SigmoidFocalLoss,
    dice_loss,
    pairwise_dice_cost,
    sigmoid_focal_loss,
)
from catravs.registry import MODELS

LN4 = math.log(4.0)  # sigmoid(LN4) = 0.8, sigmoid(-LN4) = 0.2


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _focal_by_formula(x: float, g: float, alpha: float = 0.25, gamma: float = 2.0) -> float:
    """Focal loss of one pixel from its definition, in plain Python floats."""
    p = 1 / (1 + math.exp(-x))
    ce = -(g * math.log(p) + (1 - g) * math.log(1 - p))
    p_t = p * g + (1 - p) * (1 - g)
    alpha_t = alpha * g + (1 - alpha) * (1 - g)
    return alpha_t * ce * (1 - p_t) ** gamma


# --------------------------------------------------------------------------- focal
def test_focal_matches_torchvision_reduced_by_hand():
    logits = torch.randn(3, 20, generator=_gen(0), dtype=torch.float64) * 3
    targets = (torch.rand(3, 20, generator=_gen(1)) > 0.6).double()
    valid = torch.ones(3, 20, dtype=torch.bool)
    per_pixel = tv_focal(logits, targets, alpha=0.25, gamma=2.0, reduction='none')
    expected_per_mask = per_pixel.mean(1)
    torch.testing.assert_close(sigmoid_focal_loss(logits, targets, valid), expected_per_mask)
    # the released formula, re-typed: alpha_t * CE * (1 - p_t)^gamma, mean(1).sum() / num_masks
    prob = logits.sigmoid()
    ce = -(targets * prob.log() + (1 - targets) * (1 - prob).log())
    p_t = prob * targets + (1 - prob) * (1 - targets)
    alpha_t = 0.25 * targets + 0.75 * (1 - targets)
    released = (alpha_t * ce * (1 - p_t) ** 2).mean(1).sum() / 2.0
    loss = SigmoidFocalLoss(loss_weight=1.0)(logits, targets, valid, num_masks=2.0)
    torch.testing.assert_close(loss, released)
    torch.testing.assert_close(loss, expected_per_mask.sum() / 2.0)
    weighted = SigmoidFocalLoss(loss_weight=5.0)(logits, targets, valid, num_masks=2.0)
    torch.testing.assert_close(weighted, 5.0 * released)


def test_focal_ignores_invalid_pixels_by_hand():
    xs, gs = [2.0, -1.0, 0.5, 3.0], [1.0, 0.0, 1.0, 0.0]
    logits = torch.tensor([xs], dtype=torch.float64)
    targets = torch.tensor([gs], dtype=torch.float64)
    valid = torch.tensor([[True, False, True, False]])
    # only pixels 0 and 2 count, each weighing 1/2
    expected = (_focal_by_formula(2.0, 1.0) + _focal_by_formula(0.5, 1.0)) / 2
    got = sigmoid_focal_loss(logits, targets, valid)
    assert got.shape == (1,)
    assert got.item() == pytest.approx(expected, rel=1e-12)
    # the ignored pixels may hold anything
    logits2, targets2 = logits.clone(), targets.clone()
    logits2[0, 1], logits2[0, 3], targets2[0, 1], targets2[0, 3] = -50.0, 40.0, 1.0, 1.0
    assert sigmoid_focal_loss(logits2, targets2, valid).item() == pytest.approx(expected,
                                                                                 rel=1e-12)
    loss = SigmoidFocalLoss(loss_weight=2.0)(logits, targets, valid, num_masks=4.0)
    assert loss.item() == pytest.approx(2.0 * expected / 4.0, rel=1e-12)


def test_focal_mask_without_valid_pixels_is_zero():
    logits = torch.randn(2, 4, generator=_gen(2))
    targets = torch.ones(2, 4)
    valid = torch.tensor([[False] * 4, [True] * 4])
    got = sigmoid_focal_loss(logits, targets, valid)
    assert got[0].item() == 0.0
    assert got[1].item() == pytest.approx(tv_focal(logits[1], targets[1]).mean().item(), rel=1e-6)


# ---------------------------------------------------------------------------- dice
def test_dice_by_hand_2x2():
    # p = 0.5 everywhere, g has one pixel: inter = 0.5, |p| = 2, |g| = 1
    # dice = 1 - (2 * 0.5 + 1) / (2 + 1 + 1) = 1 - 2/4 = 0.5
    logits = torch.zeros(1, 4, dtype=torch.float64)
    targets = torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    valid = torch.ones(1, 4, dtype=torch.bool)
    assert dice_loss(logits, targets, valid).tolist() == pytest.approx([0.5], abs=1e-12)
    # p = [0.8, 0.2, 0.2, 0.8], g = [1, 1, 0, 0]: inter = 1.0, |p| = 2.0, |g| = 2
    # dice = 1 - (2 + 1) / (2 + 2 + 1) = 1 - 3/5 = 0.4
    logits = torch.tensor([[LN4, -LN4, -LN4, LN4]], dtype=torch.float64)
    targets = torch.tensor([[1.0, 1.0, 0.0, 0.0]], dtype=torch.float64)
    assert dice_loss(logits, targets, valid).tolist() == pytest.approx([0.4], abs=1e-12)


def test_dice_by_hand_3x3_with_ignored_pixels_and_two_masks():
    # mask 0: p (3x3, row-major) = [.8 .8 .2 / .8 .5 .2 / .2 .2 .2]
    #         g                  = [1  1  0  / 1  0  0  / 0  0  1 ]
    # valid: all but the centre and the bottom-right pixel
    #   inter = .8 + .8 + .8 = 2.4; |p| = .8*3 + .2*4 = 3.2 (centre .5 and last .2 dropped)
    #   |g| = 3 (the bottom-right 1 is ignored)
    #   dice = 1 - (2 * 2.4 + 1) / (3.2 + 3 + 1) = 1 - 5.8 / 7.2
    # mask 1: p all 0.2, g empty, all valid: inter = 0, |p| = 1.8
    #   dice = 1 - 1 / (1.8 + 0 + 1) = 1 - 1 / 2.8
    a, b, h = LN4, -LN4, 0.0
    logits = torch.tensor([[a, a, b, a, h, b, b, b, b], [b] * 9], dtype=torch.float64)
    targets = torch.tensor([[1, 1, 0, 1, 0, 0, 0, 0, 1], [0] * 9], dtype=torch.float64)
    valid_row = torch.tensor([1, 1, 1, 1, 0, 1, 1, 1, 0], dtype=torch.bool)
    valid = torch.stack([valid_row, torch.ones(9, dtype=torch.bool)])
    expected = [1 - 5.8 / 7.2, 1 - 1 / 2.8]
    got = dice_loss(logits, targets, valid)
    assert got.tolist() == pytest.approx(expected, abs=1e-12)
    loss = DiceLoss(loss_weight=5.0)(logits, targets, valid, num_masks=3.0)
    assert loss.item() == pytest.approx(5.0 * sum(expected) / 3.0, abs=1e-12)


def test_dice_matches_the_released_formula_without_ignored_pixels():
    logits = torch.randn(4, 30, generator=_gen(3), dtype=torch.float64)
    targets = (torch.rand(4, 30, generator=_gen(4)) > 0.5).double()
    valid = torch.ones(4, 30, dtype=torch.bool)
    p = logits.sigmoid()
    released = (1 - (2 * (p * targets).sum(1) + 1) / (p.sum(-1) + targets.sum(-1) + 1)).sum() / 3
    torch.testing.assert_close(DiceLoss()(logits, targets, valid, num_masks=3), released)


def test_pairwise_dice_cost_matches_a_double_loop():
    q, g, p = 5, 3, 12
    logits = torch.randn(q, p, generator=_gen(5), dtype=torch.float64) * 2
    targets = (torch.rand(g, p, generator=_gen(6)) > 0.5).double()
    valid = torch.rand(p, generator=_gen(7)) > 0.3
    cost = pairwise_dice_cost(logits, targets, valid)
    assert cost.shape == (q, g)
    idx = [k for k in range(p) if valid[k]]
    for i in range(q):
        for j in range(g):
            probs = [1 / (1 + math.exp(-logits[i, k].item())) for k in idx]
            gts = [targets[j, k].item() for k in idx]
            inter = sum(pp * gg for pp, gg in zip(probs, gts))
            expected = 1 - (2 * inter + 1) / (sum(probs) + sum(gts) + 1)
            assert cost[i, j].item() == pytest.approx(expected, abs=1e-12)


# ----------------------------------------------------------------------------- BCE
def _bce_by_formula(p: float, g: float) -> float:
    return -(g * math.log(p) + (1 - g) * math.log(1 - p))


def test_mask_bce_by_hand_with_ignored_pixels():
    xs = [[1.5, -0.5, 2.0], [0.0, -3.0, 0.7]]
    gs = [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
    vs = [[True, True, False], [True, True, True]]
    logits, targets = torch.tensor(xs, dtype=torch.float64), torch.tensor(gs, dtype=torch.float64)
    valid = torch.tensor(vs)
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    per_mask = [
        sum(_bce_by_formula(sig(x), g) for x, g, v in zip(xr, gr, vr) if v) / sum(vr)
        for xr, gr, vr in zip(xs, gs, vs)]
    loss = MaskBCELoss(loss_weight=4.0)(logits, targets, valid, num_masks=2.0)
    assert loss.item() == pytest.approx(4.0 * sum(per_mask) / 2.0, rel=1e-12)
    # double sigmoid: the BCE sees sigmoid(sigmoid(x)) as its probability
    per_mask_ds = [
        sum(_bce_by_formula(sig(sig(x)), g) for x, g, v in zip(xr, gr, vr) if v) / sum(vr)
        for xr, gr, vr in zip(xs, gs, vs)]
    loss_ds = MaskBCELoss(loss_weight=4.0, released_double_sigmoid=True)(
        logits, targets, valid, num_masks=2.0)
    assert loss_ds.item() == pytest.approx(4.0 * sum(per_mask_ds) / 2.0, rel=1e-12)
    assert loss_ds.item() != pytest.approx(loss.item(), rel=1e-3)


def test_mask_bce_double_sigmoid_equals_released_f1_iou_bce():
    """Released ``F1_IoU_BCELoss``: ``BCEWithLogitsLoss()(sigmoid(pred), gt)``, a mean over
    all pixels; with equal-sized masks and num_masks = M that is the mean of per-mask means."""
    logits = torch.randn(3, 1, 6, 6, generator=_gen(8), dtype=torch.float64, requires_grad=True)
    targets = (torch.rand(3, 1, 6, 6, generator=_gen(9)) > 0.5).double()
    expected = F.binary_cross_entropy(logits.sigmoid().sigmoid(), targets)
    valid = torch.ones(3, 36, dtype=torch.bool)
    got = MaskBCELoss(released_double_sigmoid=True)(logits.flatten(1), targets.flatten(1), valid,
                                                     num_masks=3.0)
    torch.testing.assert_close(got, expected)
    g_got, = torch.autograd.grad(got, logits)
    g_exp, = torch.autograd.grad(expected, logits)
    torch.testing.assert_close(g_got, g_exp)
    single = MaskBCELoss()(logits.flatten(1), targets.flatten(1), valid, num_masks=3.0)
    torch.testing.assert_close(single, F.binary_cross_entropy(logits.sigmoid(), targets))


# ------------------------------------------------------------------ classification
def _nll_loop(logits: torch.Tensor, labels: torch.Tensor, eos: float):
    """(sum_i w_{y_i} * -log_softmax_i[y_i], sum_i w_{y_i}) over every frame and query."""
    k1 = logits.shape[-1]
    total, weights = 0.0, 0.0
    for f in range(logits.shape[0]):
        for q in range(logits.shape[1]):
            row = [v.item() for v in logits[f, q]]
            m = max(row)
            lse = m + math.log(sum(math.exp(v - m) for v in row))
            c = labels[f, q].item()
            w = eos if c == k1 - 1 else 1.0
            total += w * (lse - row[c])
            weights += w
    return total, weights


@pytest.mark.parametrize('num_classes', [1, 3])
def test_classification_weights_is_the_weighted_mean(num_classes):
    frames, queries, eos = 3, 5, 0.1
    logits = torch.randn(frames, queries, num_classes + 1, generator=_gen(10), dtype=torch.float64)
    labels = torch.randint(0, num_classes + 1, (frames, queries), generator=_gen(11))
    loss = ClassificationLoss(num_classes, eos_coef=eos, loss_weight=2.0)(logits, labels)
    weight = torch.tensor([1.0] * num_classes + [eos], dtype=torch.float64)
    torch.testing.assert_close(
        loss, 2.0 * F.cross_entropy(logits.flatten(0, 1), labels.flatten(), weight))
    total, weights = _nll_loop(logits, labels, eos)
    # rel 1e-7: the eos weight is held in float32
    assert loss.item() == pytest.approx(2.0 * total / weights, rel=1e-7)


@pytest.mark.parametrize('num_classes', [1, 3])
def test_classification_frames_is_the_sum_over_queries_per_frame(num_classes):
    frames, queries, eos = 4, 6, 0.1
    logits = torch.randn(frames, queries, num_classes + 1, generator=_gen(12), dtype=torch.float64)
    labels = torch.randint(0, num_classes + 1, (frames, queries), generator=_gen(13))
    loss = ClassificationLoss(num_classes, eos_coef=eos, loss_weight=2.0,
                              normalize='frames')(logits, labels)
    total, _ = _nll_loop(logits, labels, eos)
    assert loss.item() == pytest.approx(2.0 * total / frames, rel=1e-7)  # float32 eos weight


def test_classification_frames_equals_the_released_is_referred_loss():
    """Released ``loss_is_referred``: log-softmax, targets [0, 1] (no object) by default and
    [1, 0] at the matched query, weight eos_coef except 1 at the matched query, sum / frames."""
    frames, queries, eos = 5, 7, 0.1
    logits = torch.randn(frames, queries, 2, generator=_gen(14), dtype=torch.float64)
    matched = torch.tensor([3, 3, 3, 3, 3])  # one query per clip, the same in every frame
    log_p = logits.log_softmax(-1)
    target = torch.zeros_like(log_p)
    target[:, :, :] = torch.tensor([0.0, 1.0], dtype=torch.float64)
    target[torch.arange(frames), matched] = torch.tensor([1.0, 0.0], dtype=torch.float64)
    per_query = -(log_p * target).sum(-1)
    eos_w = torch.full(per_query.shape, eos, dtype=torch.float64)
    eos_w[torch.arange(frames), matched] = 1.0
    released = (per_query * eos_w).sum() / frames

    labels = torch.ones(frames, queries, dtype=torch.long)
    labels[torch.arange(frames), matched] = 0
    got = ClassificationLoss(1, eos_coef=eos, normalize='frames')(logits, labels)
    torch.testing.assert_close(got, released)
    # and 'weights' is not that: it divides by the summed weights, not by the frames
    weights_norm = ClassificationLoss(1, eos_coef=eos)(logits, labels)
    torch.testing.assert_close(weights_norm, released * frames / (frames * (1 + eos * 6)))


def test_classification_rejects_an_unknown_normalisation():
    with pytest.raises(ValueError, match='normalize'):
        ClassificationLoss(1, normalize='queries')


# ---------------------------------------------------------------------- criterion
def _criterion(aux_loss=True, num_classes=3, normalize='weights'):
    criterion = MODELS.build(dict(
        type='MaskSetCriterion', num_classes=num_classes, aux_loss=aux_loss,
        matcher=dict(type='HungarianMatcher'),
        loss_cls=dict(type='ClassificationLoss', loss_weight=2.0, normalize=normalize),
        loss_focal=dict(type='SigmoidFocalLoss', loss_weight=5.0),
        loss_dice=dict(type='DiceLoss', loss_weight=5.0),
        loss_bce=dict(type='MaskBCELoss', loss_weight=4.0)))
    assert isinstance(criterion, MaskSetCriterion)
    return criterion


def _two_clips(num_layers=2):
    """Clip 0: objects of classes 2 and 0 (2 frames); clip 1: one object of class 1 (1 frame).

    Query 1 predicts clip 0's object 0 and query 3 its object 1 (strong logits and class
    scores), query 0 predicts clip 1's object: the matching is unambiguous.
    """
    q, k1, h, w = 4, 4, 4, 4
    gt0 = torch.zeros(2, 2, h, w)
    gt0[0, :, :2, :2] = 1  # object 0 (class 2)
    gt0[1, :, 2:, 1:] = 1  # object 1 (class 0)
    valid0 = torch.ones(2, h, w, dtype=torch.bool)
    valid0[1, 0, 3] = False
    gt1 = torch.zeros(1, 1, h, w)
    gt1[0, 0, 1:3, 1:3] = 1
    valid1 = torch.ones(1, h, w, dtype=torch.bool)
    targets = [ClipTargets(gt0, torch.tensor([2, 0]), valid0),
               ClipTargets(gt1, torch.tensor([1]), valid1)]
    gen = _gen(20)
    m0 = torch.randn(num_layers, 2, q, h, w, generator=gen) * 0.5
    m0[:, :, 1] += 3 * (2 * gt0[0] - 1)
    m0[:, :, 3] += 3 * (2 * gt0[1] - 1)
    m1 = torch.randn(num_layers, 1, q, h, w, generator=gen) * 0.5
    m1[:, :, 0] += 3 * (2 * gt1[0] - 1)
    c0 = torch.randn(num_layers, 2, q, k1, generator=gen)
    c0[..., 1, 2] += 5
    c0[..., 3, 0] += 5
    c1 = torch.randn(num_layers, 1, q, k1, generator=gen)
    c1[..., 0, 1] += 5
    pairs = [[(1, 0), (3, 1)], [(0, 0)]]  # (query, object) per clip
    return [m0, m1], [c0, c1], targets, pairs


def _expected_layer(masks, logits, targets, pairs, layer, num_classes=3):
    """Every term of one layer from the oracles above, num_masks = 3 objects in the batch."""
    num_masks = 3.0
    focal = dice = bce = 0.0
    cls_logits, cls_labels = [], []
    for m, c, tgt, clip_pairs in zip(masks, logits, targets, pairs):
        labels = torch.full(c.shape[1:3], num_classes, dtype=torch.long)
        for qi, gi in clip_pairs:
            labels[:, qi] = tgt.labels[gi]
            x = m[layer][:, qi].flatten()
            g = tgt.masks[gi].flatten()
            v = tgt.valid.flatten()
            xv, gv = x[v].double(), g[v].double()
            focal += tv_focal(xv, gv, reduction='none').mean().item()
            p = xv.sigmoid()
            dice += 1 - (2 * (p * gv).sum().item() + 1) / (p.sum().item() + gv.sum().item() + 1)
            bce += F.binary_cross_entropy(p, gv).item()
        cls_logits.append(c[layer])
        cls_labels.append(labels)
    weight = torch.tensor([1.0] * num_classes + [0.1])
    cls = F.cross_entropy(torch.cat(cls_logits).flatten(0, 1), torch.cat(cls_labels).flatten(),
                          weight)
    return dict(loss_cls=2.0 * cls.item(), loss_focal=5.0 * focal / num_masks,
                loss_dice=5.0 * dice / num_masks, loss_bce=4.0 * bce / num_masks)


def test_criterion_normalises_by_the_objects_of_the_batch_and_names_aux_losses():
    masks, logits, targets, pairs = _two_clips(num_layers=3)
    losses = _criterion()(masks, logits, targets)
    terms = ['loss_cls', 'loss_focal', 'loss_dice', 'loss_bce']
    assert set(losses) == {f'{p}{t}' for p in ('', 'd0.', 'd1.') for t in terms}
    for layer, prefix in ((0, 'd0.'), (1, 'd1.'), (2, '')):
        expected = _expected_layer(masks, logits, targets, pairs, layer)
        for term, value in expected.items():
            assert losses[prefix + term].item() == pytest.approx(value, rel=1e-4), (prefix, term)

    final_only = _criterion(aux_loss=False)(masks, logits, targets)
    assert set(final_only) == set(terms)
    for term in terms:
        torch.testing.assert_close(final_only[term], losses[term])


def test_criterion_with_an_empty_clip():
    """Clip 1 has no object: its queries are all no-object, num_masks counts clip 0 only."""
    masks, logits, targets, pairs = _two_clips(num_layers=2)
    h, w = masks[1].shape[-2:]
    targets[1] = ClipTargets(torch.zeros(0, 1, h, w), torch.zeros(0, dtype=torch.long),
                             torch.ones(1, h, w, dtype=torch.bool))
    masks = [m.requires_grad_() for m in masks]
    losses = _criterion()(masks, logits, targets)
    exp = _expected_layer([m.detach() for m in masks], logits, targets, [pairs[0], []], 1)
    # _expected_layer divides by 3 objects; here there are 2
    for term in ('loss_focal', 'loss_dice', 'loss_bce'):
        assert losses[term].item() == pytest.approx(exp[term] * 3 / 2, rel=1e-5)
    assert losses['loss_cls'].item() == pytest.approx(exp['loss_cls'], rel=1e-5)
    sum(losses.values()).backward()
    assert masks[1].grad is None or not masks[1].grad.any()
    assert masks[0].grad is not None and masks[0].grad.abs().sum() > 0


def test_criterion_without_any_object_keeps_the_graph_connected():
    masks, logits, targets, _ = _two_clips(num_layers=2)
    targets = [ClipTargets(t.masks[:0], t.labels[:0], t.valid) for t in targets]
    masks = [m.requires_grad_() for m in masks]
    logits = [c.requires_grad_() for c in logits]
    losses = _criterion()(masks, logits, targets)
    assert set(losses) == {f'{p}loss_{t}' for p in ('', 'd0.')
                           for t in ('cls', 'focal', 'dice', 'bce')}
    total = sum(losses.values())
    assert torch.isfinite(total)
    for term in ('loss_focal', 'loss_dice', 'loss_bce'):
        assert losses[term].requires_grad and losses[term].item() == 0.0
    total.backward()
    for m in masks:
        assert m.grad is not None and not m.grad.any()
    # every query is no-object: the class loss still trains the class logits
    for c in logits:
        assert c.grad is not None and c.grad.abs().sum() > 0
    all_eos = [torch.full(c.shape[1:3], 3, dtype=torch.long) for c in logits]
    expected = F.cross_entropy(torch.cat([c[-1] for c in logits]).flatten(0, 1),
                               torch.cat(all_eos).flatten(), torch.tensor([1, 1, 1, 0.1]))
    torch.testing.assert_close(losses['loss_cls'], 2.0 * expected)


def test_criterion_frames_normalisation_counts_the_annotated_frames_of_the_batch():
    masks, logits, targets, pairs = _two_clips(num_layers=1)
    loss = _criterion(normalize='frames')(masks, logits, targets)['loss_cls']
    total = 0.0
    for c, tgt, clip_pairs in zip(logits, targets, pairs):
        labels = torch.full(c.shape[1:3], 3, dtype=torch.long)
        for qi, gi in clip_pairs:
            labels[:, qi] = tgt.labels[gi]
        total += _nll_loop(c[0].double(), labels, 0.1)[0]
    assert loss.item() == pytest.approx(2.0 * total / 3, rel=1e-5)  # 2 + 1 frames
