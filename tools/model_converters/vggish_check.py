#!/usr/bin/env python
"""Check a torchvggish checkpoint (vggish-10086976.pth) against catravs' VGGish.

Every tensor ``features.{0,3,6,8,11,13}.*`` and ``embeddings.{0,2,4}.*`` must be
there with VGGish's shapes; PCA parameters (``pproc.*``) are reported as unused.
With --out, a clean copy holding only the VGGish tensors is saved.

Example::

    python tools/model_converters/vggish_check.py vggish-10086976.pth
"""
from __future__ import annotations

import argparse
import sys

# a sibling script: run as a script, this file's folder is sys.path[0]
from convert_pretrained import convert


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='torchvggish checkpoint')
    parser.add_argument('--out', default=None, help='save a clean copy here')
    parser.add_argument('--prefix', default=None,
                        help="take keys under this prefix, e.g. 'audio_backbone.'")
    args = parser.parse_args(argv)
    return convert('VGGish', args.src, args.out, prefix=args.prefix)


if __name__ == '__main__':
    sys.exit(main())
