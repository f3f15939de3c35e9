# Full CATR (spatial + temporal branches, block-wise gates, learned queries): the reference.
# Every ablation inherits this file and changes one thing. Compared with the demo config
# (../catr_tiny_synthavs.py): a short schedule, N_e = 3 temporal blocks (as the authors;
# the released fusion needs 3) and learned queries (the released code's, and the default
# of the AVSBench configs).
_base_ = ['../catr_tiny_synthavs.py']

model = dict(
    fusion=dict(num_layers=3),
    decoder=dict(query_init='learned'),
)

max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
                        eta_min=1e-5)]
default_hooks = dict(checkpoint=dict(max_keep_ckpts=1), logger=dict(interval=50))
