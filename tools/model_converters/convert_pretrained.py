#!/usr/bin/env python
"""Convert a downloaded pretrained file to catravs naming and check it against a model part.

The backbones and audio encoders load the original files directly through
``init_cfg=dict(type='Pretrained', checkpoint=...)``; this tool is for checking
a file before a long run, or for saving a converted copy (timm naming, heads
dropped). Exit status 1 when a tensor of the model is missing, a key is not
recognised, or a shape differs.

Examples::

    python tools/model_converters/convert_pretrained.py PVTv2B5Backbone pvt_v2_b5.pth \\
        --out checkpoints/pvt_v2_b5_timm.pth
    python tools/model_converters/convert_pretrained.py ResNet50Backbone resnet50-19c8e357.pth
    python tools/model_converters/convert_pretrained.py VGGish vggish-10086976.pth
    python tools/model_converters/convert_pretrained.py PVTv2Backbone pvt_v2_b2.pth --arg arch=b2
"""
from __future__ import annotations

import argparse
import ast
import os
import os.path as osp
import sys

import torch
from mmengine.registry import DefaultScope

from catravs.models.backbones.pretrained import PretrainedLoaderMixin, format_keys, format_report
from catravs.registry import MODELS, SCOPE


def _parse_value(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def convert(type_name: str, src: str, out: str | None = None, model_args: dict | None = None,
            prefix: str | None = None, keep_unused: bool = False, force: bool = False) -> int:
    """Check ``src`` against the registered ``type_name``; save the converted dict to ``out``."""
    MODELS.import_from_location()
    with DefaultScope.overwrite_default_scope(SCOPE), torch.device('meta'):
        module = MODELS.build(dict(type=type_name, **(model_args or {})))  # no weights allocated
    if not isinstance(module, PretrainedLoaderMixin):
        print(f'{type_name} has no pretrained converter', file=sys.stderr)
        return 2
    converted, report, mismatched = module.check_pretrained(src, prefix=prefix)
    print(f'{src}: {len(converted)} tensors, {len(report.loaded)} match {type_name}')
    print(format_report(report, module.expected_unexpected_reason))
    if report.ignored_missing:
        print(f'not needed (buffers old files lack): {len(report.ignored_missing)} '
              f'x {report.ignored_missing[0].rsplit(".", 1)[-1]}')
    if mismatched:
        print('shape mismatches (a file of another variant?): ' + format_keys(mismatched, 10))
    ok = not (report.missing or report.unexpected or mismatched)
    if out and not ok and not force:
        print(f'not saving {out}: fix the problems above or pass --force')
    elif out:
        if not keep_unused:
            converted = {k: v for k, v in converted.items()
                         if k not in set(report.expected_unexpected)}
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        torch.save(converted, out)
        print(f'saved {len(converted)} tensors to {out}')
    print('OK' if ok else 'PROBLEMS FOUND')
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('type', help='registered model part, e.g. PVTv2B5Backbone, VGGish')
    parser.add_argument('src', help='downloaded checkpoint (.pth, .safetensors)')
    parser.add_argument('--out', default=None, help='save the converted state dict here')
    parser.add_argument('--arg', nargs='*', default=[], metavar='KEY=VALUE',
                        help='constructor arguments of the model part, e.g. arch=b2')
    parser.add_argument('--prefix', default=None, help="take keys under this prefix, "
                        "e.g. 'backbone.' of a full catravs checkpoint")
    parser.add_argument('--keep-unused', action='store_true',
                        help='keep the expected-unused tensors (classifier head) in --out')
    parser.add_argument('--force', action='store_true', help='save --out despite problems')
    args = parser.parse_args(argv)
    model_args = {}
    for item in args.arg:
        key, sep, value = item.partition('=')
        if not sep:
            parser.error(f'--arg expects KEY=VALUE, got {item!r}')
        model_args[key] = _parse_value(value)
    return convert(args.type, args.src, args.out, model_args, args.prefix, args.keep_unused,
                   args.force)


if __name__ == '__main__':
    sys.exit(main())
