#!/usr/bin/env python
"""Convert an original PVT-v2 checkpoint (whai362/PVT naming) to timm/catravs naming.

``patch_embed1.*`` -> ``patch_embed.*``, ``patch_embed{i}.*`` -> ``stages.{i-1}.downsample.*``,
``block{i}.{j}.*`` -> ``stages.{i-1}.blocks.{j}.*`` (``mlp.dwconv.dwconv`` -> ``mlp.dwconv``),
``norm{i}.*`` -> ``stages.{i-1}.norm.*``; the ImageNet head is dropped unless --keep-head.
Not needed for training (``PVTv2B5Backbone`` loads the original file itself).

Example::

    python tools/model_converters/pvt_v2_to_timm.py pvt_v2_b5.pth pvt_v2_b5_timm.pth
"""
from __future__ import annotations

import argparse
import sys

# a sibling script: run as a script, this file's folder is sys.path[0]
from convert_pretrained import convert


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='original checkpoint, e.g. pvt_v2_b5.pth')
    parser.add_argument('dst', help='where to save the converted state dict')
    parser.add_argument('--arch', default='b5', help='PVT-v2 variant (b0 .. b5, b2_li)')
    parser.add_argument('--keep-head', action='store_true', help='keep head.weight/bias')
    args = parser.parse_args(argv)
    return convert('PVTv2Backbone', args.src, args.dst, dict(arch=args.arch),
                   keep_unused=args.keep_head)


if __name__ == '__main__':
    sys.exit(main())
