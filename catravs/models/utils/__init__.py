from .activation_checkpoint import checkpointed, recompute_cheap_ops
from .attention import (
                        ATTENTION_IMPLS,
                        AttentionImpl,
                        MultiheadAttention,
                        set_attention_impl,
)
from .compute_impl import set_reference_impl
from .deformable_encoder_layer import DeformableEncoderLayer
from .ms_deform_attn import MSDeformAttn, ms_deform_attn
from .positional_encoding import frame_position_embedding, sine_position_embedding
from .transformer_layers import FFN, MLP, AttentionLayer, DecoderLayer, EncoderLayer

__all__ = ['ATTENTION_IMPLS', 'AttentionImpl', 'MultiheadAttention', 'checkpointed',
           'recompute_cheap_ops', 'set_attention_impl', 'set_reference_impl',
           'frame_position_embedding', 'sine_position_embedding', 'FFN',
           'MLP', 'AttentionLayer', 'DecoderLayer', 'EncoderLayer', 'DeformableEncoderLayer',
           'MSDeformAttn', 'ms_deform_attn']
