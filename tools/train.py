"""Train a catravs model.

``python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--compile] [--test]``
"""
import argparse

from catravs.apis.runner_setup import (
    add_common_args,
    apply_resume,
    build_runner,
    finish_distributed,
    runner_config,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a catravs model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the latest checkpoint in the work dir, or from '
                             'the checkpoint given')
    parser.add_argument('--test', action='store_true',
                        help='after training, evaluate the best checkpoint (by the '
                             'validation metric; the last weights if none) on the test split')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (float16 on CUDA, bfloat16 on CPU)')
    parser.add_argument('--compile', action='store_true',
                        help="torch.compile the model's forward as one graph "
                             '(CompileForwardHook)')
    add_common_args(parser)
    return parser.parse_args()


def best_checkpoint(runner) -> str | None:
    """The checkpoint that the checkpoint hook kept as best on val (its first
    ``save_best`` key when there are several), or None."""
    from mmengine.hooks import CheckpointHook
    info = runner.message_hub.runtime_info
    if info.get('best_ckpt'):
        return info['best_ckpt']
    for hook in runner.hooks:
        keys = getattr(hook, 'key_indicators', None) if isinstance(hook, CheckpointHook) else None
        if keys:
            return info.get(f'best_ckpt_{keys[0]}')
    return None


def main() -> None:
    args = parse_args()
    cfg = runner_config(args)
    if args.amp:
        cfg.optim_wrapper.type = 'AnyDeviceAmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.compile:
        cfg.custom_hooks = [*cfg.get('custom_hooks', []), dict(type='CompileForwardHook')]
    # --resume: the latest *complete* checkpoint of the work dir, or the one given
    apply_resume(cfg, args.resume)

    runner = build_runner(cfg)
    runner.train()
    if args.test:
        best = best_checkpoint(runner)
        if best:
            runner.load_checkpoint(best, strict=True)  # the model just trained
        else:
            runner.logger.warning('no best checkpoint was recorded on val (no save_best, or '
                                  'no validation ran): testing the last weights')
        runner.logger.info(f'testing {best or "the last weights"} on the test split')
        runner.test()


if __name__ == '__main__':
    main()
    finish_distributed()  # after main(): the runner is out of scope
