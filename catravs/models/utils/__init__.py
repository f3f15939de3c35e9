from .positional_encoding import sine_position_embedding
from .transformer_layers import FFN, MLP, AttentionLayer, DecoderLayer, EncoderLayer

__all__ = ['sine_position_embedding', 'FFN', 'MLP', 'AttentionLayer', 'DecoderLayer',
           'EncoderLayer']
