"""djstruct: structure analysis and cue points for DJ libraries."""

from djstruct.errors import DjstructError

__version__ = "0.1.0"
__all__ = ["DjstructError", "__version__"]
