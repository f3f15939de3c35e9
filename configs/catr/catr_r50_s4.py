# CATR, ResNet-50, AVSBench-object S4 (single source). Published: see configs/catr/README.md.
# Schedule: schedules/catr_adam_100e.py; seed 123 and the best checkpoint chosen on the val
# split: default_runtime.py (the released code chose it on the test split).
_base_ = [
    '../_base_/models/catr_r50.py', '../_base_/datasets/avsbench_s4.py',
    '../_base_/schedules/catr_adam_100e.py', '../_base_/default_runtime.py'
]
