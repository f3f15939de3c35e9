# The tiny CATR demo on SynthAVS (S4 layout) with the plugin's GatedBiCrossFusion in place
# of CombinatorialDependenceFusion. `_base_` resolves relative to this file, so the config
# works from any working directory; `data_root` (relative: 'data/synthavs_s4') resolves
# relative to the working directory, so pass an absolute one from elsewhere:
#   --cfg-options train_dataloader.dataset.data_root=/abs/path ...
_base_ = ['../../../configs/catr/catr_tiny_synthavs.py']

# Importing the package registers GatedBiCrossFusion in catravs' MODELS registry.
custom_imports = dict(imports=['projects.gated_bicross_fusion.gated_bicross'],
                      allow_failed_imports=False)

model = dict(
    fusion=dict(
        _delete_=True,  # drop CombinatorialDependenceFusion's own arguments
        type='GatedBiCrossFusion',
        d_model=64,  # = model.d_model of the base config
        nhead=4,
        num_layers=2,
        dim_feedforward=128,
        dropout=0.0,
        gate_bias_init=0.0,
        time_embed=True))
