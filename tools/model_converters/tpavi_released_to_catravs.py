"""Convert a checkpoint of the released TPAVI (AVSBench) code into a catravs checkpoint.

    python tools/model_converters/tpavi_released_to_catravs.py IN OUT [--vggish FILE] [--config CFG]

IN: what the released ``train.py`` saves (``torch.save(model.module.state_dict())``: a bare
``Pred_endecoder`` state dict, backbone included, no VGGish: 1,190 keys with PVT-v2-b5, 630
with ResNet-50, AVSS 4 fewer); a ``module.`` prefix or a ``state_dict`` wrapper is accepted
too. OUT loads strictly into CFG's model (default: ``configs/tpavi/tpavi_{pvt,r50}_s4.py``,
or ``_avss.py`` when the classifier has more than one class; the backbone read from the
keys; S4 and MS3 have the same model). The released checkpoint holds no VGGish weights:
``--vggish`` (a torchvggish file, e.g. ``pretrained/vggish-10086976.pth``) adds them. Dead
parameters of the released code (``path4.resConfUnit1``, ``B2_ResNet``'s second branch) are
dropped with the reason; an unknown key, a missing key (the audio encoder without
``--vggish`` included) or a wrong shape stops the conversion (exit 1, nothing written) and
names the key in both namings.
"""
import argparse
import os.path as osp
import sys
from collections import Counter

from catravs.engine.checkpoint_io import atomic_torch_save
from catravs.engine.strict_loading import CheckpointMismatchError
from catravs.models.backbones.pretrained import load_state_dict_file
from catravs.models.segmentors.tpavi_released_keys import (
    catravs_key_to_released,
    convert_released_state_dict,
)
from catravs.registry import SCOPE

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLASSIFIER = 'output_conv.4.weight'  # [K, 32, 1, 1]: K = 1 (S4, MS3) or 71 (AVSS)
NO_VGGISH = ('pass --vggish FILE (torchvggish weights): the released checkpoint holds no '
             'audio encoder, and tools/test.py runs no init_weights, so without them VGGish '
             'would stay at random weights')


def default_config(state_dict: dict) -> str:
    """The leaf config that matches the released checkpoint's backbone and classes."""
    backbone = 'r50' if any(k.startswith('resnet.') for k in state_dict) else 'pvt'
    semantic = CLASSIFIER in state_dict and state_dict[CLASSIFIER].shape[0] > 1
    return osp.join(REPO_ROOT, 'configs', 'tpavi',
                    f'tpavi_{backbone}_{"avss" if semantic else "s4"}.py')


def check_fits(converted: dict, origins: dict, config: str, source: str,
               has_vggish: bool) -> None:
    """Raise CheckpointMismatchError unless ``converted`` fits the model of ``config``."""
    import torch
    from mmengine.registry import DefaultScope

    from catravs.apis import load_config
    from catravs.engine.strict_loading import check_state_dict_fits
    from catravs.registry import MODELS
    cfg = load_config(config)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', SCOPE)), \
            torch.device('meta'):  # shapes only: nothing allocated, nothing initialised
        model = MODELS.build(cfg.model)
    hint = '' if has_vggish else NO_VGGISH
    try:
        check_state_dict_fits(model, converted, source, hint=hint, origins=origins)
    except CheckpointMismatchError as err:  # name the missing keys in the released naming too
        missing = [k for k in model.state_dict() if k not in converted
                   and not k.endswith('num_batches_tracked')
                   and catravs_key_to_released(k) != k]
        if not missing:
            raise
        names = ', '.join(f'{catravs_key_to_released(k)} (catravs: {k})' for k in missing[:20])
        raise CheckpointMismatchError(f'{err} Missing released keys: {names}') from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='checkpoint saved by the released train.py')
    parser.add_argument('dst', help='catravs checkpoint to write')
    parser.add_argument('--vggish', help='torchvggish weights to include as audio_encoder.*')
    parser.add_argument('--config', help='the config whose model DST must fit (default: '
                        'configs/tpavi/tpavi_{pvt,r50}_{s4,avss}.py, from the keys)')
    args = parser.parse_args(argv)

    origins: dict[str, str] = {}
    try:
        released = load_state_dict_file(args.src)
        converted, dropped = convert_released_state_dict(released, origins)
        if args.vggish:
            for key, value in load_state_dict_file(args.vggish).items():
                if not key.startswith('pproc.'):
                    converted[f'audio_encoder.{key}'] = value
                    origins[f'audio_encoder.{key}'] = f'{args.vggish}: {key}'
        check_fits(converted, origins, args.config or default_config(released), args.src,
                   bool(args.vggish))
    except (KeyError, CheckpointMismatchError) as err:
        message = err.args[0] if isinstance(err, KeyError) else str(err)
        print(f'error: {args.src}: {message}; nothing written', file=sys.stderr)
        return 1
    for reason, count in Counter(dropped.values()).items():
        print(f'dropped {count:4d} dead keys: {reason}')
    atomic_torch_save({'state_dict': converted, 'meta': {'converted_from': osp.abspath(args.src)}},
                      args.dst)
    print(f'wrote {len(converted)} tensors to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
