"""The content of SynthAVS clips: objects that look different and sound different.

A clip shows 2 or 3 objects of distinct *kinds* on a plain noisy background. Each kind
has its own shape and colour, and its own sound (a harmonic tone at its own
fundamental, some with a tremolo). Every second ``t`` of the clip one object (or, for
multi-source subsets, one or two) is *sounding*: the audio of that second is the sum of
those objects' sounds plus a little noise, and the ground truth of frame ``t`` is
exactly those objects. By default (``sources='per_second'``) which object sounds changes
at random from second to second, so a model can only find it by listening to the
frame's own second of audio. With ``sources='per_clip'`` the same object(s) sound through
the whole clip, as in AVSBench's single-source S4 videos: the clip's audio as a whole
then tells which object to segment, and a model needs no frame-to-second alignment.

Each second's sound is a 0.56 s burst starting 20 ms into the second. Both ways of
cutting audio per frame then see only that second's sound: a slice of the first
0.975 s of each second, and AVSBench's whole-clip VGGish examples (example ``t`` covers
``[0.96 t, 0.96 t + 0.975)`` s) for clips up to 10 s.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from catravs.utils.vggish_params import VGGISH_SAMPLE_RATE

__all__ = ['ObjectKind', 'KINDS', 'SynthClip', 'sample_clip', 'SAMPLE_RATE', 'SOURCES']

SAMPLE_RATE = VGGISH_SAMPLE_RATE  # VGGish's rate: the wavs need no resampling
_BURST = (0.02, 0.58)      # seconds, relative to the start of each second
_FADE = 0.01               # raised-cosine fade at both ends of a burst
_SIZE_FRAC = 0.11          # object "radius" (area of a disc of that radius) / image size
#: how the sounding objects change over a clip (see the module docstring)
SOURCES = ('per_second', 'per_clip')


@dataclass(frozen=True)
class ObjectKind:
    """One kind of object: how it looks and how it sounds."""

    name: str
    shape: str                      # disc | square | triangle | ring | cross
    rgb: tuple[int, int, int]
    f0: float                       # fundamental (Hz)
    harmonics: tuple[float, ...]    # amplitude of harmonics 1, 2, 3, ...
    tremolo_hz: float = 0.0         # amplitude modulation rate (0: steady)


#: Fundamentals are >2x apart and harmonics avoid the other kinds' peaks, so the kinds
#: are far apart in VGGish's 64-band mel spectrogram (125-7500 Hz).
KINDS: tuple[ObjectKind, ...] = (
    ObjectKind('red_disc', 'disc', (220, 40, 40), 250.0, (1.0, 0.5)),
    ObjectKind('green_square', 'square', (40, 190, 60), 640.0, (1.0, 0.0, 0.4), 6.0),
    ObjectKind('blue_triangle', 'triangle', (50, 80, 230), 1300.0, (1.0,)),
    ObjectKind('yellow_ring', 'ring', (230, 210, 40), 2900.0, (1.0,), 11.0),
    ObjectKind('magenta_cross', 'cross', (210, 50, 210), 5200.0, (1.0,)),
)

# Bounding-circle radius of each shape, in units of the base radius r.
_EXTENT = dict(disc=1.0, square=1.26, triangle=1.56, ring=1.2, cross=1.27)


@dataclass
class SynthClip:
    """One generated clip.

    Attributes:
        kinds: kind index of each of the K objects (distinct).
        frames: T frames ``uint8[H, W, 3]`` RGB.
        object_masks: ``bool[T, K, H, W]``, the pixels of each object in each frame.
        sounding: per second, the indices (into the K objects) of the sounding objects.
        waveform: ``float32[T * SAMPLE_RATE]`` in [-1, 1].
    """

    kinds: list[int]
    frames: list[np.ndarray]
    object_masks: np.ndarray
    sounding: list[tuple[int, ...]]
    waveform: np.ndarray

    def binary_mask(self, t: int) -> np.ndarray:
        """``uint8[H, W]`` 0/255: the sounding objects of frame ``t``."""
        mask = self.object_masks[t, list(self.sounding[t])].any(axis=0)
        return mask.astype(np.uint8) * 255

    def class_map(self, t: int) -> np.ndarray:
        """``uint8[H, W]``: class ``kind + 1`` on each sounding object, 0 elsewhere."""
        out = np.zeros(self.object_masks.shape[2:], dtype=np.uint8)
        for obj in self.sounding[t]:
            out[self.object_masks[t, obj]] = self.kinds[obj] + 1
        return out

    def sounding_kinds(self, t: int) -> list[int]:
        return [self.kinds[obj] for obj in self.sounding[t]]


def _draw_shape(shape: str, size: int, cx: int, cy: int, r: float) -> np.ndarray:
    """``bool[size, size]`` pixels of one shape centred at (cx, cy), area ~ pi r^2."""
    canvas = np.zeros((size, size), dtype=np.uint8)
    if shape == 'disc':
        cv2.circle(canvas, (cx, cy), int(round(r)), 1, -1, lineType=cv2.LINE_8)
    elif shape == 'square':
        h = int(round(0.886 * r))
        cv2.rectangle(canvas, (cx - h, cy - h), (cx + h, cy + h), 1, -1)
    elif shape == 'triangle':
        radius = 1.555 * r
        angles = np.deg2rad([-90.0, 30.0, 150.0])
        pts = np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], axis=1)
        cv2.fillPoly(canvas, [np.round(pts).astype(np.int32)], 1, lineType=cv2.LINE_8)
    elif shape == 'ring':
        cv2.circle(canvas, (cx, cy), int(round(1.195 * r)), 1, -1, lineType=cv2.LINE_8)
        cv2.circle(canvas, (cx, cy), int(round(0.65 * r)), 0, -1, lineType=cv2.LINE_8)
    elif shape == 'cross':
        half_len, half_w = int(round(1.19 * r)), max(1, int(round(0.4 * r)))
        cv2.rectangle(canvas, (cx - half_len, cy - half_w), (cx + half_len, cy + half_w), 1, -1)
        cv2.rectangle(canvas, (cx - half_w, cy - half_len), (cx + half_w, cy + half_len), 1, -1)
    else:
        raise ValueError(f'unknown shape {shape!r}')
    return canvas.astype(bool)


def _place(rng: np.random.Generator, extents: list[float], size: int,
           jitter: int) -> np.ndarray | None:
    """Integer centres ``[K, 2]`` (x, y) with non-overlapping bounding circles, or None."""
    for _ in range(300):
        centres = []
        for ext in extents:
            lo, hi = ext + jitter + 1, size - 2 - ext - jitter
            if hi <= lo:
                return None
            centres.append(rng.uniform(lo, hi, size=2))
        ok = all(np.hypot(*(centres[i] - centres[j])) >= extents[i] + extents[j] + 2 * jitter + 2
                 for i in range(len(extents)) for j in range(i))
        if ok:
            return np.round(np.stack(centres)).astype(np.int64)
    return None


def _kind_sound(kind: ObjectKind, f0: float, num_samples: int, start: float) -> np.ndarray:
    """``float64[num_samples]`` peak-normalised tone of one kind (time starts at ``start`` s)."""
    t = start + np.arange(num_samples) / SAMPLE_RATE
    wave = np.zeros(num_samples)
    for k, amp in enumerate(kind.harmonics, start=1):
        if amp and k * f0 < SAMPLE_RATE / 2:
            wave += amp * np.sin(2 * np.pi * k * f0 * t)
    wave /= max(1e-9, np.abs(wave).max())
    if kind.tremolo_hz:
        wave *= 0.6 + 0.4 * np.sin(2 * np.pi * kind.tremolo_hz * t)
    return wave


def _synthesize_audio(rng: np.random.Generator, kinds: list[int],
                      sounding: list[tuple[int, ...]], noise_std: float) -> np.ndarray:
    """``float32[T * SAMPLE_RATE]``: per second, the bursts of the sounding objects."""
    num_seconds = len(sounding)
    f0s = [KINDS[k].f0 * rng.uniform(0.97, 1.03) for k in kinds]
    gains = [rng.uniform(0.25, 0.4) for _ in kinds]
    wave = rng.normal(0.0, noise_std, size=num_seconds * SAMPLE_RATE)
    b0, b1 = (int(round(x * SAMPLE_RATE)) for x in _BURST)
    n_fade = int(round(_FADE * SAMPLE_RATE))
    envelope = np.ones(b1 - b0)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n_fade) / n_fade)
    envelope[:n_fade], envelope[-n_fade:] = ramp, ramp[::-1]
    for sec, objs in enumerate(sounding):
        start = sec * SAMPLE_RATE + b0
        for obj in objs:
            tone = _kind_sound(KINDS[kinds[obj]], f0s[obj], b1 - b0, start / SAMPLE_RATE)
            wave[start:start + b1 - b0] += gains[obj] * envelope * tone
    return np.clip(wave, -1.0, 32767 / 32768).astype(np.float32)


def _render(rng: np.random.Generator, size: int, kinds: list[int], centres: np.ndarray,
            num_frames: int, jitter: int, r: float) -> tuple[list[np.ndarray], np.ndarray]:
    """Frames (RGB uint8) and object masks ``bool[T, K, H, W]``."""
    base = rng.uniform(60, 170) + rng.uniform(-15, 15, size=3)
    frames, masks = [], np.zeros((num_frames, len(kinds), size, size), dtype=bool)
    for t in range(num_frames):
        img = base + rng.normal(0.0, 6.0, size=(size, size, 3))
        for k, kind in enumerate(kinds):
            cx, cy = centres[k] + rng.integers(-jitter, jitter + 1, size=2)
            masks[t, k] = _draw_shape(KINDS[kind].shape, size, int(cx), int(cy), r)
            pix = masks[t, k]
            img[pix] = np.asarray(KINDS[kind].rgb) + rng.normal(0.0, 4.0, size=(pix.sum(), 3))
        frames.append(np.clip(np.round(img), 0, 255).astype(np.uint8))
    return frames, masks


def sample_clip(rng: np.random.Generator, num_seconds: int, image_size: int = 64,
                max_sounding: int = 1, num_kinds: int = len(KINDS),
                num_objects: tuple[int, int] = (2, 3), noise_std: float = 0.003,
                sources: str = 'per_second') -> SynthClip:
    """Draw one clip of ``num_seconds`` frames/seconds.

    Args:
        rng: the clip's own generator (the result depends only on it).
        max_sounding: 1 (single source) or 2 (one or two sounding objects per second).
        num_kinds: use the first ``num_kinds`` of :data:`KINDS`.
        num_objects: inclusive range of objects per clip.
        sources: ``'per_second'``: the sounding objects are drawn anew every second;
            ``'per_clip'``: drawn once, they sound through the whole clip.
    """
    if not 2 <= num_kinds <= len(KINDS):
        raise ValueError(f'num_kinds must be in [2, {len(KINDS)}], got {num_kinds}')
    if sources not in SOURCES:
        raise ValueError(f'sources must be one of {SOURCES}, got {sources!r}')
    if image_size < 32:
        raise ValueError(f'image_size must be >= 32, got {image_size}')
    r = _SIZE_FRAC * image_size
    jitter = max(1, int(round(0.025 * image_size)))
    count = int(rng.integers(num_objects[0], min(num_objects[1], num_kinds) + 1))
    kinds = [int(k) for k in rng.choice(num_kinds, size=count, replace=False)]
    centres = None
    while centres is None:
        centres = _place(rng, [_EXTENT[KINDS[k].shape] * r for k in kinds], image_size, jitter)
        if centres is None:
            if len(kinds) <= 2:
                raise ValueError(f'cannot place 2 objects in a {image_size}px image')
            kinds = kinds[:-1]
    sounding = []
    for _ in range(1 if sources == 'per_clip' else num_seconds):
        n = 1 if max_sounding == 1 or len(kinds) < 2 else int(rng.integers(1, 3))
        sounding.append(tuple(sorted(int(o) for o in rng.choice(len(kinds), n, replace=False))))
    sounding *= num_seconds // len(sounding)
    frames, masks = _render(rng, image_size, kinds, centres, num_seconds, jitter, r)
    waveform = _synthesize_audio(rng, kinds, sounding, noise_std)
    return SynthClip(kinds, frames, masks, sounding, waveform)
