# catravs' revision of CATR (configs/_base_/models/catr_revised_r50.py says what it changes
# and why) on AVSBench AVSS; everything else as configs/catr/catr_pvt_avss.py.
_base_ = [
    '../../_base_/models/catr_revised_pvt.py', '../../_base_/datasets/avsbench_avss.py',
    '../../_base_/schedules/catr_adam_100e.py', '../../_base_/default_runtime.py'
]

# one query class per AVSS class (background included) + the no-object class
model = dict(task='semantic', num_classes=71)
