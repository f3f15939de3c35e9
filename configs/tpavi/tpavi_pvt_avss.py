# TPAVI, PVT-v2-b5, AVSBench-semantic (AVSS: 71 classes incl. background, 10 frames per
# clip, two groups of 5 for TPAVI), as the released code evidently intends to train it
# (avs_scripts/avss/train.sh, train.py, loss.py; as released, avss/train.py:259 and test.py:177
# stop at the first validation / test batch, see configs/tpavi/README.md).
# Model: 71 classes (avss/config.py:12), align_channel without bias (avss/model/TPAVI.py:39);
# padded frames (valid_frames off) zeroed as released (avss/model/PVT_AVSModel.py:234-278).
# Loss: flag-weighted cross-entropy + 0.5 x the KL matching term with the argmax mask, both
# averaged over the annotated frames (avss/loss.py:7-93,167-201; train.sh:20-23).
# Data: 224 x 224, 4 clips per batch for train, val and test (_base_/datasets/
# avsbench_avss_224.py; avss/config.py:35, train.sh, test.sh). 60 epochs (train.sh:12).
# Validation after 0-based epochs 16, 18, ..., 58 (avss/train.py:229: epoch >= 15 and
# epoch % 2 == 0, i.e. after 17, 19, ..., 59 epochs); MMEngine validates when the epochs done
# are a multiple of val_interval: here after 18, 20, ..., 60 (val_begin=17, val_interval=2).
# Best checkpoint: best val mIoU over all 10 frames, padding included (avss/train.py:279-288).
_base_ = [
    '../_base_/models/tpavi_pvt.py', '../_base_/datasets/avsbench_avss_224.py',
    '../_base_/schedules/tpavi_adam.py', '../_base_/default_runtime.py'
]

model = dict(
    task='semantic',
    num_classes=71,
    fusion=dict(audio_bias=False),
    criterion=dict(
        seg_loss=dict(_delete_=True, type='FrameCrossEntropyLoss'),
        matching_loss=dict(_delete_=True, type='AudioVisualMatchingLoss', stages=(0, 1, 2, 3),
                       mask='argmax',
                           frames='mean', loss_weight=0.5)))
max_epochs = 60  # avss/train.sh:12 --max_epoches 60
train_cfg = dict(max_epochs=max_epochs, val_begin=17, val_interval=2)
default_hooks = dict(checkpoint=dict(save_best='mIoU(avsbench)'))
