# catravs' revision of CATR (configs/_base_/models/catr_revised_r50.py says what it changes
# and why) on AVSBench S4; everything else as configs/catr/catr_r50_s4.py.
_base_ = [
    '../../_base_/models/catr_revised_r50.py', '../../_base_/datasets/avsbench_s4.py',
    '../../_base_/schedules/catr_adam_100e.py', '../../_base_/default_runtime.py'
]
