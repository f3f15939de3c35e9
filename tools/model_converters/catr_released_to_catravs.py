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
nothing. The key table: ``catravs/models/segmentors/catr_released_keys.py``.
"""
import argparse
import os.path as osp
import sys

from catravs.apis import convert_released_checkpoint, vggish_extra_weights
from catravs.models.backbones.pretrained import load_state_dict_file
from catravs.models.segmentors.catr_released_keys import CATR_RELEASED_KEYS

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(REPO_ROOT, 'configs', 'catr', 'catr_pvt_s4.py')

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='checkpoint saved by the released train.py')
    parser.add_argument('dst', help='catravs checkpoint to write')
    parser.add_argument('--vggish', help='torchvggish weights to include as audio_encoder.*')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='the config whose model DST must fit (default: catr_pvt_s4.py)')
    args = parser.parse_args(argv)

    extra, hint = vggish_extra_weights(args.vggish)
    return convert_released_checkpoint(
        load_state_dict_file(args.src), CATR_RELEASED_KEYS, args.config, args.dst, args.src,
        extra=extra, hint=hint)


if __name__ == '__main__':
    sys.exit(main())
