"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--out-dir DIR]
[--score-dir DIR]``."""
import argparse

from catravs.apis.runner_setup import (
    add_common_args,
    build_runner,
    finish_distributed,
    runner_config,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (evaluate) a catravs model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', help='write predicted masks in the AVSBench layout here')
    parser.add_argument('--show-dir', help='write frame overlays of the predictions here')
    parser.add_argument('--score-dir', help='write one .npz per clip here (float16 mask logits '
                        'or the class map, labels, frame flags) for '
                        'tools/analysis_tools/score_protocols.py')
    parser.add_argument('--allow-partial', action='store_true',
                        help='load a checkpoint that lacks some weights of the model (they '
                        'keep their initial values) or holds other keys; by default such a '
                        'checkpoint stops the run, naming the keys')
    add_common_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = runner_config(args)
    cfg.load_from = args.checkpoint
    # MMEngine's runner loads load_from non-strictly (a warning only), and test() runs
    # no init_weights: a weight the checkpoint lacks would stay at its initial value
    hooks = [] if args.allow_partial else [dict(type='StrictLoadHook', source=args.checkpoint)]
    if args.out_dir or args.show_dir or args.score_dir:
        hooks.append(dict(type='PredictionWriterHook', out_dir=args.out_dir,
                          show_dir=args.show_dir, score_dir=args.score_dir))
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + hooks

    runner = build_runner(cfg)
    runner.test()


if __name__ == '__main__':
    main()
    finish_distributed()  # after main(): the runner is out of scope
