# AVSegFormer, ResNet-50, AVSBench-object MS3 (multiple sources), as the released code trains it
# (vvvb-github/AVSegFormer, commit 7083cb6, config/ms3/AVSegFormer_res50_ms3.py). Published:
# see configs/avsegformer/README.md. Model: _base_/models/avsegformer_r50.py.
# Data: 512 x 512 (dataloader/ms3_dataset.py:43,48), 2 clips per batch (:54):
# _base_/datasets/avsbench_ms3_512.py.
# Schedule: AdamW lr 2e-5 (:73-75), 60 epochs (:83), backbone frozen for epochs 0-9 (:84
# freeze_epochs=10); validation every epoch (scripts/ms3/train.py).
_base_ = [
    '../_base_/models/avsegformer_r50.py', '../_base_/datasets/avsbench_ms3_512.py',
    '../_base_/schedules/avsegformer_adamw.py', '../_base_/default_runtime.py'
]

max_epochs = 60
freeze_epochs = 10
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [dict(type='FreezeModulesHook', unfreeze_at=freeze_epochs,
                     module_names=['backbone'])]
