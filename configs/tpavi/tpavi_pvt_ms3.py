# TPAVI, PVT-v2-b5, AVSBench-object MS3 (multiple sources), as the released code trains it
# (avs_scripts/avs_ms3/train.sh, train.py, loss.py). Published: see configs/tpavi/README.md.
# Loss: BCE on every frame + 0.5 x the KL audio-visual matching term over stages 0-3
# (train.sh:14-19 --masked_av_flag --masked_av_stages 0 1 2 3 --lambda_1 0.5 --kl_flag; not
# --norm_fea_flag), the KL summed over the batch's frames and channels (avs_ms3/loss.py:68).
# Data as S4 (_base_/datasets/tpavi_ms3_224.py). 30 epochs (train.sh:11).
_base_ = [
    '../_base_/models/tpavi_pvt.py', '../_base_/datasets/tpavi_ms3_224.py',
    '../_base_/schedules/tpavi_adam.py', '../_base_/default_runtime.py'
]

model = dict(criterion=dict(
    matching_loss=dict(_delete_=True, type='AudioVisualMatchingLoss', stages=(0, 1, 2, 3),
                       mask='sigmoid',
                       frames='sum', loss_weight=0.5)))
max_epochs = 30  # avs_ms3/train.sh:11 --max_epoches 30
train_cfg = dict(max_epochs=max_epochs)
