"""Parameters and FLOPs of a model, per part.

``python tools/analysis_tools/get_flops.py CONFIG [--shape T H W] [--cfg-options ...]``

Builds ``cfg.model`` without loading any pretrained file, runs one forward pass
(``mode='tensor'``) on one random clip of T frames (default: the config's
``num_frames``, else 5) of H x W (default 224 x 224) and prints, per part
(backbone, neck, audio_encoder, audio_proj, input_proj, fusion, decoder, head),
the parameters (total and trainable) and the FLOPs as
``torch.utils.flop_counter.FlopCounterMode`` counts them.
"""
import argparse
import os.path as osp

from mmengine.config import Config, DictAction


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Parameters and FLOPs per model part')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs='+', metavar='N',
                        help='T H W, or H W (T from the config), or S (H = W = S); '
                             'default: the config\'s num_frames (else 5) x 224 x 224')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. model.fusion.num_layers=2')
    return parser.parse_args(argv)


def resolve_shape(cfg: Config, shape: list[int] | None) -> tuple[int, int, int]:
    """``(T, H, W)`` from ``--shape`` and the config's ``num_frames``."""
    frames = int(cfg.get('num_frames', None) or 5)
    if not shape:
        return frames, 224, 224
    if len(shape) == 1:
        return frames, shape[0], shape[0]
    if len(shape) == 2:
        return frames, shape[0], shape[1]
    if len(shape) == 3:
        return shape[0], shape[1], shape[2]
    raise ValueError(f'--shape takes 1 to 3 integers (T H W), got {shape}')


def main(argv=None) -> str:
    args = parse_args(argv)
    import torch

    from catravs.analysis.complexity import analyse_model, build_model_for_analysis, format_report
    from catravs.apis import load_config

    cfg = load_config(args.config, args.cfg_options)
    t, h, w = resolve_shape(cfg, args.shape)
    torch.manual_seed(0)
    model = build_model_for_analysis(cfg)
    report = analyse_model(model, t, h, w)
    text = format_report(report, title=f'{osp.basename(args.config)}')
    print(text)
    return text


if __name__ == '__main__':
    main()
