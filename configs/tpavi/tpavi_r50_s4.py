# TPAVI, ResNet-50, AVSBench-object S4 (single source), as the released code trains it
# (OpenNLPLab/AVSBench f7414af, avs_scripts/avs_s4/train.sh, train.py). Published: see
# configs/tpavi/README.md. Model: _base_/models/tpavi_r50.py (BCE on frame 0 of each clip,
# no matching term: train.sh passes no --sa_loss_flag). Data: 224 x 224, no augmentation,
# 4 clips per batch (_base_/datasets/tpavi_s4_224.py). Schedule: Adam 1e-4, 15 epochs
# (avs_s4/train.py:38). Best epoch: validate every epoch (val batch 1) and keep the best val
# mIoU (avs_s4/train.py:208-242; default_runtime.py save_best='mIoU').
_base_ = [
    '../_base_/models/tpavi_r50.py', '../_base_/datasets/tpavi_s4_224.py',
    '../_base_/schedules/tpavi_adam.py', '../_base_/default_runtime.py'
]
