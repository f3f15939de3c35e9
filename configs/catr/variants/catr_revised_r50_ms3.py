# catravs' revision of CATR (configs/_base_/models/catr_revised_r50.py says what it changes
# and why) on AVSBench MS3; everything else as configs/catr/catr_r50_ms3.py.
_base_ = [
    '../../_base_/models/catr_revised_r50.py', '../../_base_/datasets/avsbench_ms3.py',
    '../../_base_/schedules/catr_adam_100e.py', '../../_base_/default_runtime.py'
]
