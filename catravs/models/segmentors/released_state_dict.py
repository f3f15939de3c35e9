"""Where key modules written against the function form import it from; the converter core
is :mod:`.released_keys` (:class:`~.released_keys.ReleasedKeyTable`)."""
from .released_keys import map_released_state_dict

__all__ = ['map_released_state_dict']
