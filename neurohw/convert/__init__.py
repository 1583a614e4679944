"""ANN-to-SNN conversion: trained ReLU networks to integer spiking Networks
(``docs/conversion.md``)."""

from .ann import (
    INPUT_ENCODINGS,
    INPUT_NAME,
    Conversion,
    ConversionError,
    ann_forward,
    convert,
    layers_from_mlp,
)
from .flow import compile_ann
from .report import ConversionReport, StepResult, conversion_report

__all__ = [
    "INPUT_ENCODINGS",
    "INPUT_NAME",
    "Conversion",
    "ConversionError",
    "ann_forward",
    "convert",
    "layers_from_mlp",
    "compile_ann",
    "ConversionReport",
    "StepResult",
    "conversion_report",
]
