"""Convert a checkpoint of the released AVSegFormer code into a catravs checkpoint.

    python tools/model_converters/avsegformer_released_to_catravs.py IN OUT [--config CFG]

IN: what the released ``train.py`` saves (``torch.save(model.module.state_dict())``: a bare
state dict with backbone and VGGish: 1,413 keys with PVT-v2-b5, 853 with ResNet-50); the
same dict with a ``module.`` prefix or wrapped in ``state_dict`` is accepted too. OUT loads
strictly into CFG's model (default: ``configs/_base_/models/avsegformer_{pvt,r50}.py``,
the backbone read from the keys; AVSS when the classifier has more than one class). Dead
parameters of the released code are dropped with the reason; an unknown key, a missing key
or a wrong shape stops the conversion (exit 1, nothing written) and names the key.
"""
import argparse
import os.path as osp
import sys
from collections import Counter

import torch
from mmengine.config import Config

from catravs.apis import load_config
from catravs.engine.checkpoint_io import atomic_torch_save
from catravs.models.backbones.pretrained import load_state_dict_file
from catravs.models.segmentors.avsegformer_released_keys import (
    catravs_key_to_released,
    convert_released_state_dict,
)
from catravs.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLASSIFIER = 'head.fc.4.weight'  # [K, 32, 1, 1]: K = 1 (S4, MS3) or 71 (AVSS)


def default_config(state_dict: dict) -> Config:
    """The base config that matches the released checkpoint's backbone and classes."""
    r50 = any(k.startswith('backbone.layer1.') for k in state_dict)
    cfg = load_config(osp.join(REPO, 'configs', '_base_', 'models',
                                   f'avsegformer_{"r50" if r50 else "pvt"}.py'))
    if CLASSIFIER in state_dict and state_dict[CLASSIFIER].shape[0] > 1:
        cfg.model.update(task='semantic', num_classes=int(state_dict[CLASSIFIER].shape[0]))
    return cfg


def target_shapes(cfg: Config) -> dict[str, tuple[int, ...]]:
    """Every key and shape of the config's model state dict (built without memory)."""
    model_cfg = cfg.model.copy()
    for part in ('backbone', 'audio_encoder'):
        model_cfg[part] = {**model_cfg[part], 'init_cfg': None}
    with torch.device('meta'):
        model = MODELS.build(model_cfg)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def check(converted: dict, shapes: dict) -> list[str]:
    """Problems that would stop a strict load, each naming its released and catravs key."""
    def name(key: str) -> str:
        return f'{catravs_key_to_released(key)} (catravs: {key})'

    problems = [f'missing key {name(k)}, shape {list(v)}' for k, v in shapes.items()
                if k not in converted]
    problems += [f'unexpected key {name(k)}: the config\'s model has no such parameter'
                 for k in converted if k not in shapes]
    problems += [f'wrong shape for {name(k)}: {list(converted[k].shape)}, the model has '
                 f'{list(shapes[k])}' for k in converted
                 if k in shapes and tuple(converted[k].shape) != shapes[k]]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='checkpoint saved by the released train.py')
    parser.add_argument('dst', help='catravs checkpoint to write')
    parser.add_argument('--config', help='catravs config whose model OUT must load into')
    args = parser.parse_args(argv)

    released = load_state_dict_file(args.src)
    try:
        converted, dropped = convert_released_state_dict(released)
    except KeyError as err:
        print(f'error: {args.src}: {err.args[0]}; nothing written', file=sys.stderr)
        return 1
    cfg = load_config(args.config) if args.config else default_config(released)
    problems = check(converted, target_shapes(cfg))
    if problems:
        for problem in problems:
            print(f'error: {args.src}: {problem} (released key names: see '
                  'catravs/models/segmentors/avsegformer_released_keys.py)', file=sys.stderr)
        print(f'nothing written ({len(problems)} problems)', file=sys.stderr)
        return 1
    for reason, count in Counter(dropped.values()).items():
        print(f'dropped {count:4d} dead keys: {reason}')
    atomic_torch_save({'state_dict': converted,
                       'meta': {'converted_from': osp.abspath(args.src)}}, args.dst)
    print(f'wrote {len(converted)} tensors to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
