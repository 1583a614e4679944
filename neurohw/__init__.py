__version__ = "0.1.0"

from .chip import Chip

__all__ = ["Chip", "__version__"]
