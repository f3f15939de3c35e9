"""Reading (and writing) the files of an AVS clip, with errors that name the file and clip.

Every reader raises
- ``FileNotFoundError`` when the file does not exist,
- :class:`DataFileError` (a ``ValueError``) when it exists but is empty, truncated,
  cannot be decoded, or holds values or shapes the dataset does not allow.
Both messages contain the path and the clip id.
"""
from __future__ import annotations

import io
import os
import pickle
import zipfile
from typing import Any

import mmcv
import numpy as np
import torch
from mmengine import fileio

from catravs.utils.vggish_params import VGGISH_EXAMPLE_SHAPE

from .palette import rgb_to_class_map

__all__ = [
    'DataFileError', 'read_file_bytes', 'read_frame', 'read_binary_mask', 'read_color_mask',
    'read_log_mel', 'read_clip_wav', 'write_tensor_pickle', 'load_tensor_pickle',
]

_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_END = b'IEND\xaeB`\x82'
_JPEG_START = b'\xff\xd8'
_JPEG_END = b'\xff\xd9'


class DataFileError(ValueError):
    """A data file that exists but is empty, truncated, undecodable or holds bad values."""


def _clip(clip_id: str | None) -> str:
    return f" of clip '{clip_id}'" if clip_id else ''


def read_file_bytes(path: str, what: str, clip_id: str | None = None,
                    backend_args: dict | None = None) -> bytes:
    """The bytes of ``path``; ``what`` names the file's role in error messages."""
    if path is None:
        raise FileNotFoundError(f'{what}{_clip(clip_id)}: no path given')
    if not fileio.exists(path, backend_args=backend_args):
        raise FileNotFoundError(f'{what}{_clip(clip_id)} not found: {path}')
    content = fileio.get(path, backend_args=backend_args)
    if len(content) == 0:
        raise DataFileError(f'{what}{_clip(clip_id)} is empty (zero bytes): {path}')
    return content


def _check_image_complete(content: bytes, path: str, what: str, clip_id: str | None) -> None:
    """Catch truncated PNG/JPEG files that opencv would decode partially without error."""
    if content.startswith(_PNG_SIGNATURE):
        if not content.rstrip(b'\x00').endswith(_PNG_END):
            raise DataFileError(f'{what}{_clip(clip_id)} is a truncated PNG (no IEND chunk): '
                                f'{path}')
    elif content.startswith(_JPEG_START):
        # some encoders append a few bytes after the end-of-image marker
        if _JPEG_END not in content[-1024:]:
            raise DataFileError(f'{what}{_clip(clip_id)} is a truncated JPEG (no EOI marker): '
                                f'{path}')


def _decode_image(path: str, what: str, clip_id: str | None, flag: str,
                  backend_args: dict | None) -> np.ndarray:
    content = read_file_bytes(path, what, clip_id, backend_args)
    _check_image_complete(content, path, what, clip_id)
    try:
        img = mmcv.imfrombytes(content, flag=flag, backend='cv2')
    except Exception as err:  # opencv raises cv2.error on some broken streams
        raise DataFileError(f'{what}{_clip(clip_id)} cannot be decoded: {path} ({err})') from err
    if img is None or img.size == 0:
        raise DataFileError(f'{what}{_clip(clip_id)} cannot be decoded as an image: {path}')
    return img


def read_frame(path: str, clip_id: str | None = None,
               backend_args: dict | None = None) -> np.ndarray:
    """A video frame as ``uint8[H, W, 3]`` in BGR order (as mmcv/opencv read it)."""
    img = _decode_image(path, 'frame', clip_id, 'color', backend_args)
    return np.ascontiguousarray(img, dtype=np.uint8)


def read_binary_mask(path: str, clip_id: str | None = None, strict: bool = True,
                     backend_args: dict | None = None) -> np.ndarray:
    """A binary mask (S4/MS3) as ``uint8[H, W]`` with values 0/1.

    The file may be single-channel or colour (any channel > 0 is foreground).
    With ``strict`` its values must be {0, 255} or {0, 1} (a subset of one of
    them); otherwise every value > 0 becomes 1.
    """
    img = _decode_image(path, 'mask', clip_id, 'unchanged', backend_args)
    if img.dtype != np.uint8:
        raise DataFileError(f'mask{_clip(clip_id)} must be 8-bit, got {img.dtype}: {path}')
    if img.ndim == 3:
        img = img[..., :3].max(axis=2)
    if strict:
        values = np.unique(img)
        if not (set(values.tolist()) <= {0, 255} or set(values.tolist()) <= {0, 1}):
            bad = [int(v) for v in values if v not in (0, 1, 255)][:8] or values.tolist()
            raise DataFileError(
                f'mask{_clip(clip_id)} is not binary: values must be only 0 and 255 '
                f'(or 0 and 1), found {bad} in {path}')
    return (img > 0).astype(np.uint8)


def read_color_mask(path: str, clip_id: str | None = None, num_classes: int = 256,
                    strict: bool = True, backend_args: dict | None = None) -> np.ndarray:
    """An AVSS colour-coded label (VOC palette) as class indices ``uint8[H, W]``.

    With ``strict`` a colour outside the first ``num_classes`` palette colours is an
    error; otherwise such pixels become background (0), as the authors' loader does.
    """
    img = _decode_image(path, 'colour label', clip_id, 'color', backend_args)
    class_map, unknown = rgb_to_class_map(img[..., ::-1], num_classes)
    if strict and unknown.any():
        colours = np.unique(img[..., ::-1][unknown].reshape(-1, 3), axis=0)[:5].tolist()
        raise DataFileError(
            f'colour label{_clip(clip_id)} has {int(unknown.sum())} pixels whose RGB colour '
            f'is not one of the {num_classes} palette colours (e.g. {colours}): {path}')
    return class_map


class _TensorUnpickler(pickle.Unpickler):
    """Unpickles tensors and arrays only: never runs code named by the file."""

    @staticmethod
    def _storage_from_bytes(data: bytes) -> Any:
        return torch.load(io.BytesIO(data), weights_only=True)

    @staticmethod
    def _getattr(obj: Any, attr: str) -> Any:
        # ``torch.from_numpy`` pickles as getattr(torch._C._VariableFunctionsClass, ...)
        if obj is torch._C._VariableFunctionsClass and attr == 'from_numpy':
            return torch.from_numpy
        raise pickle.UnpicklingError(f'refusing to load getattr(..., {attr!r})')

    _ALLOWED = {
        ('torch._utils', '_rebuild_tensor_v2'), ('torch._utils', '_rebuild_tensor'),
        ('collections', 'OrderedDict'), ('torch', 'from_numpy'),
        ('torch._C', '_VariableFunctionsClass'),
        ('numpy', 'ndarray'), ('numpy', 'dtype'),
        ('numpy.core.multiarray', '_reconstruct'), ('numpy._core.multiarray', '_reconstruct'),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ('torch.storage', '_load_from_bytes'):
            return self._storage_from_bytes
        if (module, name) == ('builtins', 'getattr'):
            return self._getattr
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f'refusing to load {module}.{name}: only tensors and '
                                     'arrays are allowed in a log-mel file')


def load_tensor_pickle(content: bytes) -> torch.Tensor:
    """A tensor from pickle bytes (AVSBench's ``pickle.dump``) or ``torch.save`` bytes.

    Uses an allow-list unpickler (and ``torch.load(weights_only=True)``), so a
    malicious file cannot run code.
    """
    if zipfile.is_zipfile(io.BytesIO(content)):
        obj = torch.load(io.BytesIO(content), weights_only=True, map_location='cpu')
    else:
        obj = _TensorUnpickler(io.BytesIO(content)).load()
    if isinstance(obj, np.ndarray):
        obj = torch.from_numpy(obj)
    if not isinstance(obj, torch.Tensor):
        raise TypeError(f'expected a tensor, got {type(obj).__name__}')
    return obj.detach()


def write_tensor_pickle(tensor: torch.Tensor, path: str | os.PathLike) -> None:
    """Pickle a CPU tensor so that ``pickle.load`` returns a ``torch.Tensor``.

    Like AVSBench's ``pickle.dump(tensor)`` for readers, but byte-deterministic:
    ``torch``'s own tensor pickling embeds a random serialization id, this writes
    ``torch.from_numpy(ndarray)`` instead.
    """

    class _Pickler(pickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, torch.Tensor):
                return torch.from_numpy, (obj.detach().cpu().contiguous().numpy(),)
            return NotImplemented

    with open(path, 'wb') as f:
        _Pickler(f, protocol=4).dump(tensor)


def read_log_mel(path: str, clip_id: str | None = None,
                 backend_args: dict | None = None) -> np.ndarray:
    """A VGGish log-mel ``.pkl`` as ``float32[T0, 1, 96, 64]``."""
    content = read_file_bytes(path, 'log-mel file', clip_id, backend_args)
    try:
        tensor = load_tensor_pickle(content)
    except Exception as err:
        raise DataFileError(f'log-mel file{_clip(clip_id)} cannot be loaded as a tensor: '
                            f'{path} ({err})') from err
    if tensor.dim() != 4 or tuple(tensor.shape[1:]) != VGGISH_EXAMPLE_SHAPE or tensor.shape[0] == 0:
        raise DataFileError(f'log-mel file{_clip(clip_id)} has shape {tuple(tensor.shape)}, '
                            f'expected [T, 1, 96, 64]: {path}')
    if not torch.isfinite(tensor).all():
        raise DataFileError(f'log-mel file{_clip(clip_id)} holds NaN or inf values: {path}')
    return tensor.float().numpy()


def read_clip_wav(path: str, clip_id: str | None = None) -> tuple[np.ndarray, int]:
    """A clip's audio as ``(float32[S] mono, sample_rate)`` via ``audio.load_wav``."""
    from .transforms.audio import load_wav  # local import: transforms import this module

    if path is None:
        raise FileNotFoundError(f'wav file{_clip(clip_id)}: no path given')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'wav file{_clip(clip_id)} not found: {path}')
    if os.path.getsize(path) == 0:
        raise DataFileError(f'wav file{_clip(clip_id)} is empty (zero bytes): {path}')
    try:
        waveform, sample_rate = load_wav(path)
    except FileNotFoundError:
        raise
    except Exception as err:
        raise DataFileError(f'wav file{_clip(clip_id)} cannot be read: {path} ({err})') from err
    if waveform.size == 0:
        raise DataFileError(f'wav file{_clip(clip_id)} holds no samples: {path}')
    return waveform, sample_rate
