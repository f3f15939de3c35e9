"""Base class of audio-visual segmentors: a train step that refuses non-finite numbers."""
from __future__ import annotations

from typing import Any, Literal, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub, print_log
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope

from catravs.registry import MODELS, SCOPE
from catravs.structures import AVSDataSample

from .label_size import to_label_size

NonFinitePolicy = Literal['raise', 'skip']
Task = Literal['binary', 'semantic']
ForwardMode = Literal['loss', 'predict', 'tensor']


class BaseAVSegmentor(BaseModel):
    """``BaseModel`` whose ``train_step`` checks the loss and the gradients.

    It also holds what every segmentor takes: ``task`` (``'binary'``: S4/MS3, one
    "sounding" class; ``'semantic'``: AVSS), ``num_classes``, ``channels_last`` (the
    convolutions' weights in NHWC: on in the ResNet-50 configs, docs/benchmark.md) and the
    data preprocessor (a config is built in catravs' scope, inside a Runner or not).

    A non-finite loss or gradient is reported with the iteration, the loss
    terms and the ids of the clips in the batch; with ``non_finite='raise'``
    the run stops (``FloatingPointError``), with ``'skip'`` the update is
    dropped and training goes on. The decision is agreed across ranks so that
    distributed runs stay in step. Under CUDA AMP the loss scaler owns overflow
    handling, so only the loss is checked there.
    """

    def __init__(self, task: Task = 'binary', num_classes: int = 1,
                 non_finite: NonFinitePolicy = 'raise', channels_last: bool = False,
                 data_preprocessor: Optional[dict] = None, init_cfg=None) -> None:
        if isinstance(data_preprocessor, dict):  # built in catravs' scope, Runner or not
            with DefaultScope.overwrite_default_scope(SCOPE):
                data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if non_finite not in ('raise', 'skip'):
            raise ValueError(f"model.non_finite must be 'raise' or 'skip', got {non_finite!r}")
        if task not in ('binary', 'semantic'):
            raise ValueError(f"model.task must be 'binary' or 'semantic', got {task!r}")
        if task == 'binary' and num_classes != 1:
            raise ValueError('model.task=binary takes num_classes=1 (the "sounding" class)')
        self.non_finite = non_finite
        self.task, self.num_classes = task, num_classes
        self.channels_last = channels_last

    def _set_memory_format(self) -> None:
        """The last line of a subclass's ``__init__``: with ``channels_last``, every 4-D
        weight (the convolutions) in ``torch.channels_last``, so that convolutions run
        NHWC. Done at construction, before a distributed run wraps the model in DDP (which
        keeps the layout it was built with); loading and initialisation copy into these
        tensors, so the layout stays."""
        if self.channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, inputs: dict, data_samples: Optional[list] = None,
                mode: ForwardMode = 'tensor') -> Any:
        """mmengine's three modes: ``'loss'`` -> ``self.loss(inputs, data_samples)`` (a dict
        of losses), ``'predict'`` -> ``self.predict(inputs, data_samples)`` (data samples with
        ``pred_masks``), ``'tensor'`` -> :meth:`_tensor_outputs` (the raw network outputs)."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._tensor_outputs(inputs)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def _tensor_outputs(self, inputs: dict) -> Any:
        """The network's raw outputs for ``mode='tensor'``: ``self._forward(inputs)``, the
        function that ``torch.compile`` takes (:func:`catravs.engine.hooks.compile_forward`)."""
        return self._forward(inputs)

    @staticmethod
    def _clip_shape(inputs: dict) -> tuple[int, int]:
        """``(B, T)`` of ``inputs = dict(frames[B, T, 3, H, W], audio[B, T, ...])``, or a
        ``ValueError`` that gives the shapes found."""
        frames, audio = inputs['frames'], inputs['audio']
        if frames.dim() != 5:
            raise ValueError(f'inputs.frames must be [B, T, 3, H, W], got {tuple(frames.shape)}')
        b, t = frames.shape[:2]
        if audio.shape[:2] != (b, t):
            raise ValueError(f'inputs.audio must start with [B, T] = [{b}, {t}], got '
                             f'{tuple(audio.shape)}')
        return b, t

    def _pack_predictions(self, scores: torch.Tensor, inputs: dict,
                          data_samples: Optional[list[AVSDataSample]]) -> list[AVSDataSample]:
        """What every method does after its network at test time.

        ``scores``: ``Tensor[B*T, K', h, w]``, one score map per frame on the network's grid:
        ``K' = 1`` mask logit for ``task='binary'``, ``K' = num_classes`` class scores for
        ``'semantic'``. Each clip's scores are brought to its label size
        (:func:`.label_size.to_label_size`, in float32) and stored on its data sample as
        ``seg_logits`` (binary ``[T, H, W]``, semantic ``[T, K, H, W]``) and ``pred_masks``
        ``LongTensor[T, H, W]`` (binary: ``sigmoid > test_cfg['mask_threshold']``, default
        0.5; semantic: argmax). ``data_samples=None`` (inference on bare inputs) makes one
        sample per clip with ``img_shape`` = the input size.
        """
        b, t = inputs['frames'].shape[:2]
        pad_shape = tuple(inputs['frames'].shape[-2:])
        if data_samples is None:
            data_samples = [AVSDataSample(metainfo=dict(img_shape=pad_shape)) for _ in range(b)]
        threshold = getattr(self, 'test_cfg', None) or {}
        threshold = threshold.get('mask_threshold', 0.5)
        for i, sample in enumerate(data_samples):
            clip = to_label_size(scores[i * t:(i + 1) * t].float(), sample, pad_shape)
            if self.task == 'binary':
                sample.seg_logits = clip[:, 0]
                sample.pred_masks = (clip[:, 0].sigmoid() > threshold).long()
            else:
                sample.seg_logits = clip
                sample.pred_masks = clip.argmax(1)
        return data_samples

    def train_step(self, data: dict, optim_wrapper: OptimWrapper) -> dict[str, torch.Tensor]:
        """One update; returns the loss terms as 0-dim host (CPU) tensors, read from the
        device once together with the non-finite check (one host sync, not one per term
        and per check)."""
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode='loss')
        parsed_losses, log_vars = self.parse_losses(losses)
        # backward even on a bad loss: DDP ranks must all reach the gradient all-reduce
        optim_wrapper.backward(optim_wrapper.scale_loss(parsed_losses))
        if not optim_wrapper.should_update():
            return log_vars
        bad, log_vars = self._read_step(parsed_losses, log_vars, optim_wrapper)
        if bad:
            bad = self._what_is_non_finite(parsed_losses, log_vars, optim_wrapper)
            self._report(bad, data)
            optim_wrapper.zero_grad()
            return log_vars
        optim_wrapper.step()
        optim_wrapper.zero_grad()
        return log_vars

    def _read_step(self, loss: torch.Tensor, log_vars: dict,
                   optim_wrapper: OptimWrapper) -> tuple[bool, dict]:
        """Whether this step must not update (a non-finite loss, or gradient where no loss
        scaler handles overflow, on any rank), and ``log_vars`` on the host: one device to
        host copy for both."""
        ok = torch.isfinite(loss.detach())
        if getattr(optim_wrapper, 'loss_scaler', None) is None:
            ok = ok & self._grads_finite_tensor()
        flag = (~ok).float()
        if get_world_size() > 1:
            all_reduce(flag)
        host = torch.stack([flag, *(torch.as_tensor(v, device=flag.device).detach()
                                    .float().reshape(()) for v in log_vars.values())]).cpu()
        values = host.tolist()
        return values[0] > 0, {k: host[i + 1] for i, k in enumerate(log_vars)}

    def _what_is_non_finite(self, loss: torch.Tensor, log_vars: dict,
                            optim_wrapper: OptimWrapper) -> str:
        """What was non-finite (only after :meth:`_read_step` found something)."""
        problems = []
        if not torch.isfinite(loss):
            terms = ', '.join(f'{k}={float(torch.as_tensor(v).detach()):.4g}'
                              for k, v in log_vars.items())
            problems.append(f'loss ({terms})')
        if getattr(optim_wrapper, 'loss_scaler', None) is None and not self._grads_finite():
            bad_params = [name for name, p in self.named_parameters()
                          if p.grad is not None and not torch.isfinite(p.grad).all()]
            if bad_params:
                problems.append(f'gradient of {len(bad_params)} parameters '
                                f'(first: {bad_params[0]})')
        if not problems:
            problems.append('loss or gradient on another rank')
        return '; '.join(problems)

    def _grads_finite_tensor(self) -> torch.Tensor:
        """``BoolTensor[]`` on the device: every gradient is finite (one max-abs reduction
        over all of them: NaN and inf propagate; no overflow, unlike a 2-norm)."""
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        if not grads:
            return torch.ones((), dtype=torch.bool, device=next(
                (p.device for p in self.parameters()), torch.device('cpu')))
        return torch.isfinite(torch.nn.utils.get_total_norm(grads, norm_type='inf'))

    def _grads_finite(self) -> bool:
        """Whether every gradient is finite (:meth:`_grads_finite_tensor`, read)."""
        return bool(self._grads_finite_tensor())

    def _report(self, what: str, data: dict) -> None:
        iteration = MessageHub.get_current_instance().get_info('iter', default=-1)
        clips = [s.metainfo.get('clip_id', '?') for s in data.get('data_samples') or []]
        message = (f'non-finite {what} at iteration {iteration + 1}; clips in the batch: '
                   f'{", ".join(map(str, clips)) or "unknown"}')
        if self.non_finite == 'raise':
            raise FloatingPointError(message + " (set model.non_finite='skip' to drop such "
                                     'steps instead)')
        print_log(message + ': update skipped', logger='current', level=30)
