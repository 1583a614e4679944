"""Networks: the integer description and its system reference model, the front ends that
produce it (NIR import, quantization), and the mapping onto cores (ChipPlan) with its
event-level model.

The flow is one way: ``import_nir`` -> :class:`FloatNetwork` -> ``quantize`` ->
:class:`Network` -> ``map_network`` -> :class:`ChipPlan` -> hardware (``neurohw.hw.system``).
"""

from .floatnet import FloatNetwork, FloatNetworkError, simulate_float
from .graph import FORMAT_VERSION, InputGroup, Network, NetworkError, Population, Projection
from .mapping import CoreCapacity, MappingError, map_network
from .nir_import import NIRImportError, import_nir
from .plan import AxonBlock, ChipPlan, CorePlan
from .plan_model import PlanTrace, simulate_plan
from .quantize import QuantizationError, encode_inputs, evaluate, quantize
from .system import Samples, SystemTrace, check_inputs, check_samples, simulate, simulate_samples

__all__ = [
    "FORMAT_VERSION",
    "InputGroup",
    "Network",
    "NetworkError",
    "Population",
    "Projection",
    "Samples",
    "SystemTrace",
    "check_inputs",
    "check_samples",
    "simulate",
    "simulate_samples",
    "FloatNetwork",
    "FloatNetworkError",
    "simulate_float",
    "NIRImportError",
    "import_nir",
    "QuantizationError",
    "encode_inputs",
    "evaluate",
    "quantize",
    "CoreCapacity",
    "MappingError",
    "map_network",
    "AxonBlock",
    "ChipPlan",
    "CorePlan",
    "PlanTrace",
    "simulate_plan",
]
