# AVSegFormer, PVT-v2-b5, AVSBench-object S4 (single source), as the released code trains it
# (vvvb-github/AVSegFormer, commit 7083cb6, config/s4/AVSegFormer_pvt2_s4.py). Published:
# see configs/avsegformer/README.md. Model: _base_/models/avsegformer_pvt.py.
# Data: 512 x 512 (dataloader/s4_dataset.py:44,49), 2 clips per batch (:54), F in groups of 2
# clips (scripts/s4/test.py:64): _base_/datasets/avsbench_s4_512.py.
# Schedule: AdamW lr 2e-5 (:73-75), 30 epochs (:83), backbone frozen for epochs 0-4 (:84
# freeze_epochs=5), validation every epoch, best val mIoU kept: schedules/avsegformer_adamw.py.
_base_ = [
    '../_base_/models/avsegformer_pvt.py', '../_base_/datasets/avsbench_s4_512.py',
    '../_base_/schedules/avsegformer_adamw.py', '../_base_/default_runtime.py'
]
