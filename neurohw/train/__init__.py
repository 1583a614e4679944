"""Training front ends: small spiking networks trained in numpy, exported to NIR.

:mod:`neurohw.train.digits` is the trainer of the built-in example (``neurohw example``, the
digits chip of ``neurohw.boards.system`` and the benchmarks); its command-line demo is
``examples/train_digits.py``.
"""

from .digits import (
    DigitsConfig,
    DigitsModel,
    accuracy,
    encode_images,
    export_nir,
    forward,
    load_split,
    test_set,
    to_nir,
    train,
)

__all__ = [
    "DigitsConfig",
    "DigitsModel",
    "accuracy",
    "encode_images",
    "export_nir",
    "forward",
    "load_split",
    "test_set",
    "to_nir",
    "train",
]
