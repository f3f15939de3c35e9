# The authors' schedule for AVSBench: Adam, lr 1e-5, gradient clip 5 (catr_adam.py), 100
# epochs (the released train.py's --max_epoches default; it gives no MS3 / AVSS schedule, so
# the same is used there), validation every epoch. The authors train with 2 clips per GPU:
# auto_scale_lr (off by default) scales lr from that base.
_base_ = ['./catr_adam.py']

max_epochs = 100
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
auto_scale_lr = dict(enable=False, base_batch_size=2)
