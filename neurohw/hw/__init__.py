"""The hardware: Amaranth components generated from neuron parameters and chip plans.

The public names of the layer are below. The host-link bridges (:mod:`neurohw.hw.host_bridge`,
:mod:`neurohw.hw.system_bridge`) are imported from their modules: they build on the pure-Python
protocols of :mod:`neurohw.host`, whose core layout reads :mod:`neurohw.hw.description`, so this
package's ``__init__`` leaves them out to keep the import graph free of cycles.
"""

from .aer import AERReceiver, AERTransmitter
from .chip_design import ChipDesign
from .core import STEP_WIDTH, ActivityStatus, NeuronCore, Status, Target
from .description import axis_streams, core_description
from .encoders import DeltaEncoder, LatencyEncoder, PopulationEncoder, RateEncoder, StreamEncoder
from .endpoint import CoreEgress, CoreIngress
from .neuron_update import NeuronUpdate
from .router import Router
from .system import SYSTEM_TOPLEVEL, SystemTop
from .topology import MeshNetwork, StarNetwork
from .uart import UARTRx, UARTTx, baud_divisor

__all__ = [
    "ChipDesign",
    "NeuronCore",
    "Target",
    "Status",
    "ActivityStatus",
    "STEP_WIDTH",
    "NeuronUpdate",
    "core_description",
    "axis_streams",
    "Router",
    "StarNetwork",
    "MeshNetwork",
    "CoreIngress",
    "CoreEgress",
    "SystemTop",
    "SYSTEM_TOPLEVEL",
    "StreamEncoder",
    "RateEncoder",
    "LatencyEncoder",
    "DeltaEncoder",
    "PopulationEncoder",
    "AERReceiver",
    "AERTransmitter",
    "UARTRx",
    "UARTTx",
    "baud_divisor",
]
