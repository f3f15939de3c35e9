"""Loading the pretrained files users download, through ``init_cfg=dict(type='Pretrained')``.

Backbones and audio encoders mix in :class:`PretrainedLoaderMixin`: their
``init_weights`` intercepts a ``Pretrained`` init_cfg, reads the file with
``weights_only=True``, converts the original key naming with the module's own
converter (``convert_pretrained``), checks shapes, loads non-strictly and logs
one line naming missing keys, unexpected keys and the keys that are expected to
be unused (classifier heads and the like).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import torch
import torch.nn as nn
from mmengine.logging import print_log

__all__ = ['StateDict', 'LoadReport', 'load_state_dict_file', 'load_converted_state_dict',
           'compare_state_dict', 'format_report', 'format_keys', 'PretrainedLoaderMixin']

StateDict = dict[str, torch.Tensor]

#: keys under which training frameworks nest the weights.
_WRAPPER_KEYS = ('state_dict', 'model', 'model_state', 'module')
#: buffers that old checkpoints lack and that need no pretrained value.
_IGNORED_MISSING_SUFFIXES = ('num_batches_tracked',)


def load_state_dict_file(checkpoint: str | os.PathLike, map_location: str = 'cpu') -> StateDict:
    """Read a checkpoint file (``.pth``/``.pt``/``.bin``, ``.safetensors`` or an URL).

    Pickled files are read with ``torch.load(weights_only=True)``: only tensors
    and plain containers are accepted, never arbitrary objects. Wrappers such as
    ``{'state_dict': ...}`` or ``{'model': ...}`` and a ``module.`` prefix (from
    DataParallel) are removed.
    """
    path = os.fspath(checkpoint)
    if path.startswith(('http://', 'https://')):
        obj = torch.hub.load_state_dict_from_url(path, map_location=map_location,
                                                 weights_only=True)
    elif not os.path.isfile(path):
        raise FileNotFoundError(f'pretrained checkpoint not found: {path}')
    elif path.endswith('.safetensors'):
        from safetensors.torch import load_file
        obj = load_file(path, device=str(map_location))
    else:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    while isinstance(obj, Mapping):
        wrapper = next((k for k in _WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if wrapper is None:
            break
        obj = obj[wrapper]
    if not isinstance(obj, Mapping):
        raise TypeError(f'{path} does not hold a state dict (got {type(obj).__name__})')
    state = {k: v for k, v in obj.items() if torch.is_tensor(v)}
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return state


@dataclass
class LoadReport:
    """What a pretrained load did. Keys are in the module's naming."""

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    expected_unexpected: list[str] = field(default_factory=list)
    ignored_missing: list[str] = field(default_factory=list)


def format_keys(keys: list[str], limit: int = 40) -> str:
    """``'a, b, ... (N more)'``, or ``'none'``."""
    if not keys:
        return 'none'
    shown = ', '.join(keys[:limit])
    return shown + (f', ... ({len(keys) - limit} more)' if len(keys) > limit else '')


def compare_state_dict(module: nn.Module, state_dict: Mapping[str, torch.Tensor],
                       expected_unexpected_prefixes: Iterable[str] = ()
                       ) -> tuple[LoadReport, list[str]]:
    """What loading ``state_dict`` into ``module`` would do, without loading.

    Works on a module built on the ``meta`` device. Returns the report and the
    shape mismatches (``'key: file (..) vs model (..)'``).
    """
    prefixes = tuple(expected_unexpected_prefixes)
    own = module.state_dict()
    mismatched = [f'{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}'
                  for k, v in state_dict.items() if k in own and v.shape != own[k].shape]
    report = LoadReport(loaded=sorted(k for k, v in state_dict.items()
                                      if k in own and v.shape == own[k].shape))
    for key in own:
        if key not in state_dict:
            (report.ignored_missing if key.endswith(_IGNORED_MISSING_SUFFIXES)
             else report.missing).append(key)
    for key in state_dict:
        if key not in own:
            (report.expected_unexpected if key.startswith(prefixes)
             else report.unexpected).append(key)
    return report, mismatched


def format_report(report: LoadReport, reason: str = 'classifier head, not used') -> str:
    """One line: missing keys, unexpected keys, expected-unused keys."""
    return (f'missing keys: {format_keys(report.missing)}; '
            f'unexpected keys: {format_keys(report.unexpected)}; '
            f'expected unused keys ({reason}): {format_keys(report.expected_unexpected)}')


def load_converted_state_dict(module: nn.Module, state_dict: Mapping[str, torch.Tensor],
                              *, expected_unexpected_prefixes: Iterable[str] = (),
                              expected_unexpected_reason: str = 'classifier head, not used',
                              source: str = '') -> LoadReport:
    """Load ``state_dict`` (already in ``module``'s naming) non-strictly and log a report.

    Raises:
        ValueError: a key exists on both sides with different shapes (usually a
            file of another model variant).
    """
    report, mismatched = compare_state_dict(module, state_dict, expected_unexpected_prefixes)
    if mismatched:
        raise ValueError(f'{type(module).__name__}: shape mismatch loading {source or "weights"} '
                         f'(a checkpoint of another variant?): {format_keys(mismatched, 10)}')
    module.load_state_dict(dict(state_dict), strict=False)
    level = logging.WARNING if report.missing or report.unexpected else logging.INFO
    print_log(f'{type(module).__name__}: loaded {len(report.loaded)} tensors from {source}; '
              + format_report(report, expected_unexpected_reason), logger='current', level=level)
    return report


class PretrainedLoaderMixin:
    """``init_weights`` that loads ``init_cfg=dict(type='Pretrained', checkpoint=...)``
    through the module's converter.

    Subclasses (which must also derive from ``mmengine.model.BaseModule``)
    override :meth:`convert_pretrained` and set
    ``expected_unexpected_prefixes``. ``prefix='backbone.'`` in the init_cfg
    takes the keys under that prefix (e.g. from a full catravs checkpoint).
    """

    expected_unexpected_prefixes: tuple[str, ...] = ()
    expected_unexpected_reason: str = 'classifier head, not used'

    def convert_pretrained(self, state_dict: StateDict) -> StateDict:
        """Map a checkpoint's keys to this module's naming (identity by default)."""
        return state_dict

    def check_pretrained(self, checkpoint: str | os.PathLike, prefix: str | None = None,
                         map_location: str = 'cpu') -> tuple[StateDict, LoadReport, list[str]]:
        """Read and convert ``checkpoint`` and compare it with this module, loading nothing.

        Works on a module built on the ``meta`` device. Returns the converted
        state dict, the report and the shape mismatches.
        """
        state = load_state_dict_file(checkpoint, map_location)
        if prefix:
            state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            if not state:
                raise KeyError(f'no key of {checkpoint} starts with prefix {prefix!r}')
        converted = self.convert_pretrained(state)
        report, mismatched = compare_state_dict(self, converted,
                                                self.expected_unexpected_prefixes)
        return converted, report, mismatched

    def load_pretrained(self, checkpoint: str | os.PathLike, prefix: str | None = None,
                        map_location: str = 'cpu') -> LoadReport:
        """Read, convert and load ``checkpoint``; returns the report that was logged."""
        converted, _, _ = self.check_pretrained(checkpoint, prefix, map_location)
        report = load_converted_state_dict(
            self, converted, expected_unexpected_prefixes=self.expected_unexpected_prefixes,
            expected_unexpected_reason=self.expected_unexpected_reason,
            source=os.fspath(checkpoint))
        if hasattr(self, '_params_init_info'):
            from mmengine.model.weight_init import update_init_info
            update_init_info(self, init_info=f'{type(self).__name__}: load from {checkpoint}')
        return report

    def init_weights(self) -> None:
        """Run the non-Pretrained init_cfgs, then load the Pretrained one (if any)."""
        cfgs = self.init_cfg
        cfg_list = [] if cfgs is None else (list(cfgs) if isinstance(cfgs, list) else [cfgs])
        pretrained = [c for c in cfg_list if c.get('type') == 'Pretrained'
                      or getattr(c.get('type'), '__name__', '') == 'PretrainedInit']
        if not pretrained:
            super().init_weights()
            return
        if len(pretrained) > 1:
            raise ValueError(f'{type(self).__name__}: more than one Pretrained init_cfg')
        others = [c for c in cfg_list if c not in pretrained]
        self.init_cfg = others or None
        try:
            super().init_weights()
        finally:
            self.init_cfg = cfgs
        cfg = pretrained[0]
        if not cfg.get('checkpoint'):
            raise ValueError(f'{type(self).__name__}: Pretrained init_cfg needs a checkpoint')
        self.load_pretrained(cfg['checkpoint'], prefix=cfg.get('prefix'),
                             map_location=cfg.get('map_location', 'cpu'))
