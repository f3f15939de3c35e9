default_scope = 'catravs'

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/ switch this to gloo wherever CUDA is absent
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')

log_processor = dict(by_epoch=True, window_size=10)
log_level = 'INFO'
load_from = None
resume = False

# AtomicCheckpointHook: MMEngine's CheckpointHook with crash-safe writes (temp file +
# fsync + rename; last_checkpoint moves only once the checkpoint is complete) and the
# ranks' random state in each checkpoint; RNGStateHook puts that state back on --resume
# and keeps validation from consuming it (see docs/robustness.md).
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    # MMEngine's LoggerHook, with the test-metrics json written by rank 0 only
    logger=dict(type='RankZeroLoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2, save_last=True,
                    save_best='mIoU', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    rng_state=dict(type='RNGStateHook'),
    # at each validation and test, clips 0 and 1 of the dataset with ground truth and
    # prediction side by side, sent to the visualizer's backends (PNGs under the run's
    # vis_data/vis_image, TensorBoard images); drawing two clips costs well under a second
    visualization=dict(type='ClipVisualizationHook', num_clips=2, interval=1),
)

# deterministic=True (with the same world size) makes --resume bit-exact on the CPU
randomness = dict(seed=123, deterministic=False)
# SyncBN across ranks: sync_bn = 'torch' (tools/dist_train.sh: SYNC_BN=1); it needs CUDA,
# the tools drop it with a warning on CPU-only machines
sync_bn = None
