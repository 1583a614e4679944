"""neurohw: spiking neural networks to bit-exact, verified FPGA hardware.

The layers, each with its public names in its ``__init__`` (``docs/architecture.md``):
:mod:`neurohw.model` (neuron reference model), :mod:`neurohw.network` (networks, quantization,
mapping onto cores), :mod:`neurohw.hw` (Amaranth hardware), :mod:`neurohw.sim` (cocotb runner,
benches and scoreboards), :mod:`neurohw.flows` (compile, verify, synthesize),
:mod:`neurohw.host` (host-link protocols and host library), :mod:`neurohw.boards` (board builds).
"""

from .errors import VerificationError

__version__ = "0.1.0"

from .chip import Chip

__all__ = ["Chip", "VerificationError", "__version__"]
