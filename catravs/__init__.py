"""catravs: audio-visual video segmentation (CATR and friends) on MMEngine."""
from .utils.env_check import check_torch_family
from .version import __version__

check_torch_family()

# Every checkpoint MMEngine loads from a local file goes through the allow-listed,
# weights-only loader from here on (see catravs/engine/safe_checkpoint.py).
from .engine import safe_checkpoint as _safe_checkpoint  # noqa: E402,F401

__all__ = ['__version__']
