"""Convert a checkpoint of the released CATR code into a catravs checkpoint.

    python tools/model_converters/catr_released_to_catravs.py SRC DST --vggish VGGISH [--config CFG]

SRC: what the released ``train.py`` saves (``torch.save(model.module.state_dict())``: a
bare ``Pred_endecoder`` state dict, PVT-v2-b5 backbone included). DST loads into
``configs/catr/catr_pvt_s4.py`` (``tools/test.py configs/catr/catr_pvt_s4.py DST``).
The released checkpoint holds no VGGish weights: ``--vggish`` (a torchvggish file, e.g.
``pretrained/vggish-10086976.pth``) adds them. Dead parameters of the released code
are dropped by name, with a report. The result must fit the model of ``--config``
exactly: an unknown key, a missing key (the audio encoder without ``--vggish``
included) or a wrong shape stops the conversion (exit 1, naming the key) and writes
nothing.
"""
import argparse
import os.path as osp
import sys
from collections import Counter

from catravs.engine.checkpoint_io import atomic_torch_save
from catravs.engine.strict_loading import CheckpointMismatchError
from catravs.models.backbones.pretrained import load_state_dict_file
from catravs.models.segmentors.catr_released_keys import convert_released_state_dict
from catravs.registry import SCOPE

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_pvt_s4.py')
NO_VGGISH = ('pass --vggish FILE (torchvggish weights): the released checkpoint holds no '
             'audio encoder, and tools/test.py runs no init_weights, so without them VGGish '
             'would stay at random weights')


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
    check_state_dict_fits(model, converted, source, hint=hint, origins=origins)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='checkpoint saved by the released train.py')
    parser.add_argument('dst', help='catravs checkpoint to write')
    parser.add_argument('--vggish', help='torchvggish weights to include as audio_encoder.*')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='the config whose model DST must fit (default: catr_pvt_s4.py)')
    args = parser.parse_args(argv)

    origins: dict[str, str] = {}
    try:
        converted, dropped = convert_released_state_dict(load_state_dict_file(args.src),
                                                         origins)
        if args.vggish:
            vggish = load_state_dict_file(args.vggish)
            for key, value in vggish.items():
                if not key.startswith('pproc.'):
                    converted[f'audio_encoder.{key}'] = value
                    origins[f'audio_encoder.{key}'] = f'{args.vggish}: {key}'
        check_fits(converted, origins, args.config, args.src, bool(args.vggish))
    except (KeyError, CheckpointMismatchError) as err:
        message = err.args[0] if isinstance(err, KeyError) else str(err)
        print(f'error: {args.src}: {message}', file=sys.stderr)
        return 1
    for reason, count in Counter(dropped.values()).items():
        print(f'dropped {count:4d} dead keys: {reason}')
    atomic_torch_save({'state_dict': converted, 'meta': {'converted_from': osp.abspath(args.src)}},
                      args.dst)
    print(f'wrote {len(converted)} tensors to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
