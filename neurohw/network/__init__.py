"""Networks: the integer description, its system reference model, mapping onto cores and the
front ends (NIR import, quantization) that produce it."""

from .graph import FORMAT_VERSION, InputGroup, Network, NetworkError, Population, Projection
from .plan import AxonBlock, ChipPlan, CorePlan
from .system import SystemTrace, check_inputs, simulate

__all__ = [
    "FORMAT_VERSION", "InputGroup", "Network", "NetworkError", "Population", "Projection",
    "AxonBlock", "ChipPlan", "CorePlan",
    "SystemTrace", "check_inputs", "simulate",
]
