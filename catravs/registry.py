"""Registries of catravs, children of MMEngine's root registries.

Every registry is a child of the MMEngine registry of the same kind, so that a
Runner with ``default_scope='catravs'`` finds both catravs' modules and
MMEngine's. ``locations`` makes each registry import its package on first
lookup: nothing has to be imported by hand.

Model parts (visual backbones, audio encoders, necks, fusion modules, decoders,
heads, losses, matchers) all live in :data:`MODELS`, as in mmseg: a second child
registry of MODELS with the same scope would be shadowed once the Runner sets
``default_scope``. Each category is instead a base class marked with
:func:`model_part_category`. Where methods call parts of one category in different
ways (CATR's and AVSegFormer's heads, fusions and criteria), each way is a *declared
interface*: a subclass of the category's base marked with :func:`model_part_interface`,
whose docstring gives its ``forward`` signature.
:func:`catravs.models.builder.build_model_part` checks that a config names a class of
the expected category and interface, and ``tools/misc/list_modules.py`` lists what
each category holds.
"""
from __future__ import annotations

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

SCOPE = 'catravs'


def _qualname(obj: object) -> str:
    return f'{getattr(obj, "__module__", "?")}.{getattr(obj, "__qualname__", repr(obj))}'


def _variable_name(registry: Registry) -> str:
    """The name under which this module exports ``registry`` (e.g. ``MODELS``)."""
    return next((key for key, value in globals().items() if value is registry),
                registry.name.upper())


class CatravsRegistry(Registry):
    """A Registry whose name clashes say who registered what, and in which category."""

    def _register_module(self, module, module_name=None, force: bool = False) -> None:
        names = [module.__name__] if module_name is None else module_name
        names = [names] if isinstance(names, str) else names
        for name in names:
            existing = self._module_dict.get(name)
            if force or existing is None or existing is module:
                continue
            where = category_of(existing) if self is MODELS else None
            in_category = f' (category: {where})' if where else ''
            raise KeyError(
                f"{_qualname(module)} cannot be registered as '{name}' in the {SCOPE} "
                f"'{self.name}' registry: '{name}' is already registered there by "
                f'{_qualname(existing)}{in_category}. Give the new module another name, '
                f"e.g. @{_variable_name(self)}.register_module(name='MyProject{name}').")
        super()._register_module(module, module_name, force=True)


def _child(name: str, parent: Registry, locations: list[str]) -> CatravsRegistry:
    return CatravsRegistry(name, parent=parent, scope=SCOPE, locations=locations)


RUNNERS = _child('runner', MMENGINE_RUNNERS, ['catravs.engine'])
LOOPS = _child('loop', MMENGINE_LOOPS, ['catravs.engine'])
HOOKS = _child('hook', MMENGINE_HOOKS, ['catravs.engine.hooks'])
LOG_PROCESSORS = _child('log_processor', MMENGINE_LOG_PROCESSORS, ['catravs.engine'])

DATASETS = _child('dataset', MMENGINE_DATASETS, ['catravs.datasets'])
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS, ['catravs.datasets'])
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, ['catravs.datasets.transforms'])

MODELS = _child('model', MMENGINE_MODELS, ['catravs.models'])
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS, ['catravs.models'])
WEIGHT_INITIALIZERS = _child('weight initializer', MMENGINE_WEIGHT_INITIALIZERS,
                             ['catravs.models'])
TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS, ['catravs.models.task_modules'])

OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, ['catravs.engine'])
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS, ['catravs.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, ['catravs.engine'])
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS, ['catravs.engine'])

METRICS = _child('metric', MMENGINE_METRICS, ['catravs.evaluation'])
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, ['catravs.evaluation'])

VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS, ['catravs.visualization'])
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS, ['catravs.visualization'])

# ---------------------------------------------------------------- model part categories
#: category name -> its base class; filled by :func:`model_part_category`.
MODEL_PART_CATEGORIES: dict[str, type] = {}


def model_part_category(name: str):
    """Class decorator that makes a base class the home of a model-part category.

    Every module registered in :data:`MODELS` that subclasses it belongs to the
    category ``name`` (e.g. ``'fusion'``).
    """

    def wrap(base: type) -> type:
        if name in MODEL_PART_CATEGORIES and MODEL_PART_CATEGORIES[name] is not base:
            raise KeyError(f"model part category '{name}' is already defined by "
                           f'{_qualname(MODEL_PART_CATEGORIES[name])}')
        MODEL_PART_CATEGORIES[name] = base
        base._model_part_category = name
        base._model_part_interface = True
        return base

    return wrap


def model_part_interface(cls: type) -> type:
    """Class decorator that declares ``cls`` (a subclass of a category's base class) an
    interface of its category: the parts that subclass it are called the way its
    docstring's ````forward(...) -> ...```` says, and a segmentor slot may require it
    (``build_model_part(..., expects=cls)``)."""
    if category_of(cls) is None:
        raise TypeError(f'{_qualname(cls)} is not a subclass of a model part category base, '
                        'so it cannot declare an interface of one')
    cls._model_part_interface = True
    return cls


def interface_of(cls: type) -> type | None:
    """The declared interface that ``cls`` implements: the nearest class of its MRO that
    is a category base or marked with :func:`model_part_interface` (None for a class
    outside the model part categories)."""
    if category_of(cls) is None:
        return None
    return next(k for k in cls.__mro__ if k.__dict__.get('_model_part_interface'))


def category_of(cls: type) -> str | None:
    """The model-part category of a class, or None for other modules."""
    return getattr(cls, '_model_part_category', None) if isinstance(cls, type) else None
