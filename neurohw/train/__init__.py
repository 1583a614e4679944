"""Training front ends: small spiking networks trained in numpy, exported to NIR.

The names below are loaded on first use, so ``python -m neurohw.train.digits`` runs the module
without importing it twice.
"""

__all__ = ["DigitsConfig", "DigitsModel", "accuracy", "encode_images", "export_nir", "forward",
           "load_split", "run", "test_set", "to_nir", "train"]


def __getattr__(name):
    if name in __all__:
        from . import digits
        return getattr(digits, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
