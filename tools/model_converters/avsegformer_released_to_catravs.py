"""Convert a checkpoint of the released AVSegFormer code into a catravs checkpoint.

    python tools/model_converters/avsegformer_released_to_catravs.py IN OUT [--config CFG]

IN: what the released ``train.py`` saves (``torch.save(model.module.state_dict())``: a bare
state dict with backbone and VGGish: 1,413 keys with PVT-v2-b5, 853 with ResNet-50); the
same dict with a ``module.`` prefix or wrapped in ``state_dict`` is accepted too. OUT loads
strictly into CFG's model (default: ``configs/_base_/models/avsegformer_{pvt,r50}.py``,
the backbone read from the keys; AVSS when the classifier has more than one class). Dead
parameters of the released code are dropped with the reason; an unknown key, a missing key
or a wrong shape stops the conversion (exit 1, nothing written) and names the key in both
namings. The key table: ``catravs/models/segmentors/avsegformer_released_keys.py``.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config

from catravs.apis import convert_released_checkpoint, load_config
from catravs.models.backbones.pretrained import load_state_dict_file
from catravs.models.segmentors.avsegformer_released_keys import AVSEGFORMER_RELEASED_KEYS

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='checkpoint saved by the released train.py')
    parser.add_argument('dst', help='catravs checkpoint to write')
    parser.add_argument('--config', help='catravs config whose model OUT must load into')
    args = parser.parse_args(argv)

    released = load_state_dict_file(args.src)
    config = args.config or default_config(released)
    return convert_released_checkpoint(released, AVSEGFORMER_RELEASED_KEYS, config,
                                       args.dst, args.src)


if __name__ == '__main__':
    sys.exit(main())
