"""AVSegFormer's parts against independent oracles: deformable attention by an explicit
bilinear-sampling loop and gradcheck; the CrossModalMixer by nn.MultiheadAttention-free
arithmetic at any number of frames (one included); the loss by hand."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from catravs.models.fusions import CrossModalMixer
from catravs.models.losses import IoUMixLoss
from catravs.models.utils import MSDeformAttn, ms_deform_attn


def bilinear(img: torch.Tensor, x: float, y: float) -> torch.Tensor:
    """``img[D, h, w]`` at (x, y) in [0, 1] (align_corners=False, zeros outside): ``[D]``."""
    d, h, w = img.shape
    px, py = x * w - 0.5, y * h - 0.5
    x0, y0 = math.floor(px), math.floor(py)
    out = img.new_zeros(d)
    for xi, wx in ((x0, x0 + 1 - px), (x0 + 1, px - x0)):
        for yi, wy in ((y0, y0 + 1 - py), (y0 + 1, py - y0)):
            if 0 <= xi < w and 0 <= yi < h:
                out = out + wx * wy * img[:, yi, xi]
    return out


def brute_force(value, shapes, locations, weights):
    n, _, heads, dim = value.shape
    _, lq, _, levels, points, _ = locations.shape
    starts = [0]
    for h, w in shapes:
        starts.append(starts[-1] + h * w)
    out = value.new_zeros(n, lq, heads, dim)
    for b in range(n):
        for q in range(lq):
            for m in range(heads):
                for lvl, (h, w) in enumerate(shapes):
                    img = value[b, starts[lvl]:starts[lvl + 1], m].T.reshape(dim, h, w)
                    for p in range(points):
                        x, y = locations[b, q, m, lvl, p].tolist()
                        out[b, q, m] += weights[b, q, m, lvl, p] * bilinear(img, x, y)
    return out.flatten(2)


def random_case(dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    shapes = [(3, 4), (2, 2)]
    s = sum(h * w for h, w in shapes)
    value = torch.randn(2, s, 2, 3, generator=g, dtype=dtype)
    # some points outside the map (zeros padding) and on its edges
    locations = torch.rand(2, 5, 2, 2, 3, 2, generator=g, dtype=dtype) * 1.4 - 0.2
    weights = torch.rand(2, 5, 2, 2, 3, generator=g, dtype=dtype).softmax(-1)
    return value, shapes, locations, weights


def test_ms_deform_attn_equals_an_explicit_bilinear_sampling_loop():
    value, shapes, locations, weights = random_case(torch.float64)
    torch.testing.assert_close(ms_deform_attn(value, shapes, locations, weights),
                               brute_force(value, shapes, locations, weights))


def test_ms_deform_attn_gradients_pass_gradcheck():
    value, shapes, locations, weights = random_case(torch.float64, seed=1)
    locations = locations.clamp(0.05, 0.95)  # away from the kinks of zero padding at 0, 1
    inputs = [t.requires_grad_() for t in (value, locations, weights)]
    assert torch.autograd.gradcheck(lambda v, loc, w: ms_deform_attn(v, shapes, loc, w), inputs)


def test_msdeformattn_initial_offsets_ring_the_reference_point():
    attn = MSDeformAttn(16, num_levels=2, num_heads=8, num_points=2)
    offsets = attn.sampling_offsets.bias.view(8, 2, 2, 2)
    # head 0 looks right (+x), head 2 down (+y); point i at distance i + 1; all levels alike
    torch.testing.assert_close(offsets[0, 0], torch.tensor([[1.0, 0.0], [2.0, 0.0]]))
    torch.testing.assert_close(offsets[2, 1, 1], torch.tensor([0.0, 2.0]), atol=1e-6, rtol=0)


def test_cross_modal_mixer_by_hand_at_one_and_three_frames():
    torch.manual_seed(0)
    mixer = CrossModalMixer(dim=16, num_heads=4).eval()
    for n in (1, 3):  # the released squeeze() fails at n = 1
        fmap, audio = torch.randn(n, 16, 3, 5), torch.randn(n, 1, 16)
        tokens = fmap.flatten(2).transpose(1, 2)
        q = mixer.q_proj(audio).view(n, 1, 4, 4).transpose(1, 2)
        k, v = mixer.kv_proj(tokens).view(n, 15, 2, 4, 4).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) / 2.0).softmax(-1)
        gate = mixer.proj((attn @ v).transpose(1, 2).reshape(n, 16)).sigmoid()
        expected = fmap * gate[:, :, None, None]
        torch.testing.assert_close(mixer(fmap, audio), expected)
        torch.testing.assert_close(mixer(fmap, audio[:, 0]), expected)


def test_iou_mix_loss_by_hand_binary_and_semantic():
    torch.manual_seed(0)
    loss = IoUMixLoss()
    gt = torch.randint(0, 2, (3, 8, 8))
    gt[1] = 255  # an unannotated frame
    weights = torch.tensor([1.0, 0.0, 1.0])
    logits, feature = torch.randn(3, 1, 8, 8), torch.randn(3, 4, 4, 4)

    def dice(x, g):
        p = x.sigmoid().flatten(1)
        g = g.flatten(1).float()
        return 1 - 2 * (p * g).sum(-1) / ((p * p).sum(-1) + 0.001 + (g * g).sum(-1) + 0.001)

    mean = F.interpolate(feature.mean(1, keepdim=True), size=(8, 8), mode='bilinear',
                         align_corners=False)[:, 0]
    out = loss(logits, feature, gt, weights)
    frames = [0, 2]
    torch.testing.assert_close(out['loss_iou'], dice(logits[frames, 0], gt[frames]).mean())
    torch.testing.assert_close(out['loss_mix'], 0.1 * dice(mean[frames], gt[frames]).mean())

    gt = torch.randint(0, 5, (3, 8, 8))
    logits = torch.randn(3, 5, 8, 8)
    out = loss(logits, feature, gt, weights)
    ce = torch.stack([F.cross_entropy(logits[t:t + 1], gt[t:t + 1]) for t in frames]).mean()
    torch.testing.assert_close(out['loss_iou'], ce)
    torch.testing.assert_close(out['loss_mix'], 0.1 * dice(mean[frames], gt[frames] > 0).mean())


def test_query_mixing_mask_head_by_hand_with_its_own_widths():
    """The head's arithmetic written out with its own weights, at conv widths other than
    the released 128 -> 32 (``fc_channels``), 2 queries and 3 classes."""
    from catravs.models.heads import QueryMixingMaskHead
    torch.manual_seed(0)
    head = QueryMixingMaskHead(num_classes=3, num_queries=2, channels=4, hidden_dim=5,
                               num_mlp_layers=2, scale_factor=2, fc_channels=(6, 7)).eval()
    queries, feature = torch.randn(1, 2, 4), torch.randn(1, 4, 3, 3)
    x = torch.einsum('nqc,nchw->nqhw', queries, feature)
    x = head.mlp.layers[1](head.mlp.layers[0](x).relu())
    conv1, _, conv2, _, conv3 = head.fc
    y = F.interpolate(F.conv2d(feature + x, conv1.weight, conv1.bias, padding=1), scale_factor=2,
                      mode='bilinear', align_corners=False)
    y = F.conv2d(F.conv2d(y, conv2.weight, conv2.bias, padding=1).relu(), conv3.weight)
    assert [tuple(c.weight.shape[:2]) for c in (conv1, conv2, conv3)] == [(6, 4), (7, 6), (3, 7)]
    out = head(queries, feature)
    assert out.shape == (1, 3, 6, 6)
    torch.testing.assert_close(out, y)
