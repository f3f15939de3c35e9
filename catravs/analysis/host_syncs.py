"""Count the points of a computation where the host waits for the device's results.

:class:`HostSyncCounter` is a ``TorchDispatchMode`` (plus two Python-level hooks) that
counts, per kind:

- ``item``: ``aten._local_scalar_dense`` (``.item()``, ``float(t)``, ``bool(t)``, ``int(t)``);
- ``data_dependent``: ops whose output size depends on the values, so the host must read
  them to allocate: ``nonzero``, ``masked_select``, ``unique``, ``repeat_interleave``
  without ``output_size``, and indexing or index-assignment with a boolean mask;
- ``device_copy``: a copy from a device to the host (``.cpu()``), or a blocking one from
  the host to a device (``.to('cuda')`` without ``non_blocking=True``: PyTorch then
  synchronises the stream);
- ``host_read``: ``Tensor.tolist()`` / ``Tensor.numpy()`` (``np.asarray(t)`` included) of a
  host tensor whose storage was not read before in this count and was not made by a
  counted ``device_copy``. On a CUDA run every such storage came from the device, so
  this is the CPU's view of "the values went to the host": one read of one storage
  counts once, however many views of it are read.

Only tensors "on the device" count: with ``device='cuda'``, tensors not on the CPU; with
``device='cpu'``, every CPU tensor except those whose storage was read before (it is on
the host by then) and ``host_tensors``, the tensors that stay on the host in a CUDA run
too (the optimizer's ``step`` counters, whose ``.item()`` Adam calls once per parameter
and which are CPU tensors unless ``capturable`` or ``fused``). So on the CPU a run counts
what a CUDA run of the same code would wait for, the copies excepted (there is no device
to copy from: they appear as ``host_read``). On CUDA,
``torch.cuda.set_sync_debug_mode('warn')`` is the driver-level cross-check.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

__all__ = ['HostSyncCounter', 'SYNC_KINDS']

SYNC_KINDS = ('item', 'data_dependent', 'device_copy', 'host_read')

_aten = torch.ops.aten
_ITEM = {_aten._local_scalar_dense.default}
_DATA_DEPENDENT = {
    _aten.nonzero.default, _aten.masked_select.default, _aten._unique2.default,
    _aten.unique_dim.default, _aten.unique_consecutive.default, _aten._unique.default,
    _aten.nonzero_numpy.default}
_BOOL_INDEX = {_aten.index.Tensor, _aten.index_put.default, _aten.index_put_.default,
               _aten._index_put_impl_.default}
_REPEAT_INTERLEAVE = {_aten.repeat_interleave.Tensor, _aten.repeat_interleave.self_Tensor}


def _address(tensor: torch.Tensor) -> int:
    return tensor.untyped_storage().data_ptr()


def _devices(tree: Any) -> set[str]:
    return {x.device.type for x in tree_flatten(tree)[0] if isinstance(x, torch.Tensor)}


class HostSyncCounter(TorchDispatchMode):
    """``with HostSyncCounter() as c: step()``; then ``c.counts`` (a ``Counter`` by kind,
    see :data:`SYNC_KINDS`), ``c.total`` and ``c.where`` (``{op name: count}``)."""

    def __init__(self, device: str = 'cpu', host_tensors: Iterable[torch.Tensor] = ()) -> None:
        super().__init__()
        self.device = torch.device(device).type
        self.counts: Counter = Counter()
        self.where: Counter = Counter()
        self._read: dict[int, torch.Tensor] = {}  # storage address -> a tensor keeping it
        self._host = {_address(t): t for t in host_tensors}

    def _on_device(self, tensor: Any) -> bool:
        if not isinstance(tensor, torch.Tensor) or tensor.is_meta:
            return False
        if self.device != 'cpu':
            return tensor.device.type != 'cpu'
        address = _address(tensor)
        return address not in self._host and address not in self._read

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def _add(self, kind: str, name: str) -> None:
        self.counts[kind] += 1
        self.where[name] += 1

    def _mark_read(self, tensor: torch.Tensor) -> bool:
        """Whether ``tensor``'s storage is read for the first time (then remembered)."""
        if self.device != 'cpu' or tensor.device.type != 'cpu' or not self._on_device(tensor):
            return False
        ptr = _address(tensor)
        if ptr in self._read:
            return False
        self._read[ptr] = tensor  # kept alive: the address cannot be reused meanwhile
        return True

    def _host_read(self, name: str, tensor: torch.Tensor) -> None:
        if self._mark_read(tensor):
            self._add('host_read', name)

    def __enter__(self):
        self._saved = torch.Tensor.tolist, torch.Tensor.numpy
        tolist, numpy = self._saved
        counter = self

        def counted_tolist(t, *args, **kwargs):
            counter._host_read('Tensor.tolist', t)
            return tolist(t, *args, **kwargs)

        def counted_numpy(t, *args, **kwargs):
            counter._host_read('Tensor.numpy', t)
            return numpy(t, *args, **kwargs)

        torch.Tensor.tolist, torch.Tensor.numpy = counted_tolist, counted_numpy
        return super().__enter__()

    def __exit__(self, *exc):
        torch.Tensor.tolist, torch.Tensor.numpy = self._saved
        return super().__exit__(*exc)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = str(func.overloadpacket.__name__)
        if not any(self._on_device(t) for t in tree_flatten((args, kwargs))[0]):
            return out
        if func in _ITEM:
            self._add('item', name)
        elif func in _DATA_DEPENDENT:
            self._add('data_dependent', name)
        elif func in _REPEAT_INTERLEAVE and kwargs.get('output_size') is None:
            self._add('data_dependent', name)
        elif func in _BOOL_INDEX and any(
                isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8)
                for i in (args[1] if len(args) > 1 else ()) or ()):
            self._add('data_dependent', f'{name} (boolean mask)')
        elif func in (_aten._to_copy.default, _aten.copy_.default):
            to_host = _devices(out) == {'cpu'}
            non_blocking = kwargs.get('non_blocking', args[2] if len(args) > 2 else False)
            if len(_devices(args) | _devices(out)) > 1 and (to_host or not non_blocking):
                self._add('device_copy', name)
                for t in tree_flatten(out)[0]:
                    if isinstance(t, torch.Tensor):
                        self._mark_read(t)  # its values are on the host now
        return out
