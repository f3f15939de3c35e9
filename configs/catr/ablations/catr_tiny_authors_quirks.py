# The released code's behaviour: double sigmoid in the BCE term, second gate reusing the
# first gate's values, modulation applied twice, stride-16 mask features.
_base_ = ['./catr_tiny_full.py']

model = dict(
    fusion=dict(double_modulation=True, reuse_first_gate=True),
    head=dict(authors_stride16=True),
    criterion=dict(loss_bce=dict(authors_double_sigmoid=True)),
)
