"""Convert a checkpoint of the released CATR code into a catravs checkpoint.

    python tools/model_converters/catr_released_to_catravs.py SRC DST [--vggish VGGISH]

SRC: what the released ``train.py`` saves (``torch.save(model.module.state_dict())``: a
bare ``Pred_endecoder`` state dict, PVT-v2-b5 backbone included). DST loads into
``configs/catr/catr_pvt_s4.py`` (``tools/test.py configs/catr/catr_pvt_s4.py DST``).
The released checkpoint holds no VGGish weights: ``--vggish`` (a torchvggish file, e.g.
``pretrained/vggish-10086976.pth``) adds them so that DST loads strictly; without it
the config's VGGish ``init_cfg`` supplies them. Dead parameters of the released code
are dropped by name, with a report; an unknown key stops the conversion.
"""
import argparse
import os.path as osp
import sys
from collections import Counter

from catravs.engine.checkpoint_io import atomic_torch_save
from catravs.models.backbones.pretrained import load_state_dict_file
from catravs.models.segmentors.catr_released_keys import convert_released_state_dict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='checkpoint saved by the released train.py')
    parser.add_argument('dst', help='catravs checkpoint to write')
    parser.add_argument('--vggish', help='torchvggish weights to include as audio_encoder.*')
    args = parser.parse_args(argv)

    try:
        converted, dropped = convert_released_state_dict(load_state_dict_file(args.src))
    except KeyError as err:
        print(f'error: {args.src}: {err.args[0]}', file=sys.stderr)
        return 1
    if args.vggish:
        vggish = load_state_dict_file(args.vggish)
        converted.update({f'audio_encoder.{k}': v for k, v in vggish.items()
                          if not k.startswith('pproc.')})
    else:
        print('note: no --vggish given; the audio encoder comes from the config\'s init_cfg')
    for reason, count in Counter(dropped.values()).items():
        print(f'dropped {count:4d} dead keys: {reason}')
    atomic_torch_save({'state_dict': converted, 'meta': {'converted_from': osp.abspath(args.src)}},
                      args.dst)
    print(f'wrote {len(converted)} tensors to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
