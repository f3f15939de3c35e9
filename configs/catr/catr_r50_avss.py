# CATR, ResNet-50, AVSBench-semantic (AVSS, 71 classes incl. background, 10 frames per clip).
# Schedule: schedules/catr_adam_100e.py; seed 123 and the best checkpoint chosen on the val
# split: default_runtime.py (the released code chose it on the test split).
_base_ = [
    '../_base_/models/catr_r50.py', '../_base_/datasets/avsbench_avss.py',
    '../_base_/schedules/catr_adam_100e.py', '../_base_/default_runtime.py'
]

# one query class per AVSS class (background included) + the no-object class
model = dict(task='semantic', num_classes=71)
