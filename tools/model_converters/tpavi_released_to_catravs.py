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
names the key in both namings. The key table:
``catravs/models/segmentors/tpavi_released_keys.py``.
"""
import argparse
import os.path as osp
import sys

from catravs.apis import convert_released_checkpoint, vggish_extra_weights
from catravs.models.backbones.pretrained import load_state_dict_file
from catravs.models.segmentors.tpavi_released_keys import TPAVI_RELEASED_KEYS

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLASSIFIER = 'output_conv.4.weight'  # [K, 32, 1, 1]: K = 1 (S4, MS3) or 71 (AVSS)

def default_config(state_dict: dict) -> str:
    """The leaf config that matches the released checkpoint's backbone and classes."""
    backbone = 'r50' if any(k.startswith('resnet.') for k in state_dict) else 'pvt'
    semantic = CLASSIFIER in state_dict and state_dict[CLASSIFIER].shape[0] > 1
    return osp.join(REPO_ROOT, 'configs', 'tpavi',
                    f'tpavi_{backbone}_{"avss" if semantic else "s4"}.py')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='checkpoint saved by the released train.py')
    parser.add_argument('dst', help='catravs checkpoint to write')
    parser.add_argument('--vggish', help='torchvggish weights to include as audio_encoder.*')
    parser.add_argument('--config', help='the config whose model DST must fit (default: '
                        'configs/tpavi/tpavi_{pvt,r50}_{s4,avss}.py, from the keys)')
    args = parser.parse_args(argv)

    released = load_state_dict_file(args.src)
    extra, hint = vggish_extra_weights(args.vggish)
    return convert_released_checkpoint(
        released, TPAVI_RELEASED_KEYS, args.config or default_config(released), args.dst,
        args.src, extra=extra, hint=hint)


if __name__ == '__main__':
    sys.exit(main())
