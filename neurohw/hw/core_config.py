"""The pure-Python description of a :class:`neurohw.hw.core.NeuronCore`: ``CoreConfig``.

``CoreConfig`` validates the core's options (every error names the parameter, the value and what
is allowed) and derives everything that does not need hardware: the widths, the stream layouts,
the command targets present, the port description read by testbenches and templates, the memory
geometry (lanes, weight banks, the delay ring, pipeline stages) and the cycle counts read by
``neurohw.flows.report``. Building it builds no Amaranth design, so reports and tools can read a
core's numbers without elaborating (or silencing) anything; :class:`neurohw.hw.core.NeuronCore`
takes one and builds the hardware it describes.
"""

from __future__ import annotations

import enum
import numbers

import numpy as np
from amaranth.hdl import Shape, signed, unsigned
from amaranth.lib import data

from ..model.params import Accumulation, InputTiming, NeuronParams
from ..model.reference import MAX_SPIKE_COUNT, check_weights
from ..model.stdp import STDPParams
from .neuron_update import (
    per_neuron_given,
    per_neuron_shape,
    per_neuron_unusable,
    state_port_width,
    update_stages,
)

__all__ = [
    "CoreConfig",
    "Target",
    "Status",
    "ActivityStatus",
    "ACTIVITY_COUNTERS",
    "ACTIVITY_COUNTER_WIDTH",
    "SPIKE_FIFO_DEPTH",
    "MAX_NEURONS",
    "MAX_AXONS",
    "STEP_WIDTH",
    "COUNTER_WIDTH",
    "PER_NEURON_NAMES",
    "layout_fields",
    "weight_bank_depth",
]


MAX_NEURONS = 4096
MAX_AXONS = 65536
MAX_WEIGHT_WIDTH = 32
MAX_LANES = 64
MAX_EVENTS = 1 << 32
#: Longest synaptic delay (the depth of the drive ring), as in ``neurohw.network.Population``.
MAX_DELAY = 256
#: Widest signed value of a graded event (a 16-bit input group's values, sign included, and one
#: bit more for a two's complement payload read as unsigned).
MAX_VALUE_WIDTH = 33
#: Width of the step number carried by ``spikes_out`` and ``done`` (it wraps).
STEP_WIDTH = 16
#: Width of the saturating status counters.
COUNTER_WIDTH = 16
#: Entries of the spike output FIFO that decouples ``spikes_out.ready`` from the pipeline.
SPIKE_FIFO_DEPTH = 4
#: Words of one weight memory bank (block RAM) for weights of up to 9 bits: a weight memory deeper
#: than a bank is split into banks whose read data is registered before the bank is selected, so
#: that no block RAM output drives more than a register. The depth is that of one ECP5 DP16KD
#: at the weight's width (16k x 1, 8k x 2, 4k x 4, 2k x 9, 1k x 18, 512 x 36): see
#: :func:`weight_bank_depth`.
WEIGHT_BANK_DEPTH = 2048


def weight_bank_depth(weight_width: int) -> int:
    """Words of one block-RAM weight bank: one ECP5 DP16KD (18 kbit) at ``weight_width``."""
    for width, depth in ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024)):
        if weight_width <= width:
            return depth
    return 512


#: Words and bits of one iCE40UP5K SPRAM block (SB_SPRAM256KA), for ``weight_memory='spram'``.
SPRAM_DEPTH = 16384
SPRAM_WIDTH = 16

PER_NEURON_NAMES = (
    "threshold",
    "bias",
    "reset_value",
    "v_decay",
    "i_decay0",
    "i_decay1",
    "drive_bias",
)


class Target(enum.IntEnum):
    """What a ``cmd`` addresses (its ``target`` field)."""

    V = 0  #: membrane, by neuron
    I0 = 1  #: synaptic current 0, by neuron
    I1 = 2  #: synaptic current 1, by neuron
    REFRACTORY = 3  #: refractory counter, by neuron
    #: drive accumulator of channel 0, by neuron ('sum' only); the ``axon`` field selects the
    #: delay-ring slot: ``k`` is the drive gathered so far for step ``t + k`` (written to clear
    #: the ring at the end of a sample)
    ACC0 = 4
    ACC1 = 5  #: drive accumulator of channel 1, as ACC0
    WEIGHT0 = 6  #: weight of channel 0, by axon and neuron
    WEIGHT1 = 7  #: weight of channel 1, by axon and neuron
    THRESHOLD = 8  #: effective (shifted) threshold, by neuron, when per-neuron
    BIAS = 9  #: effective (shifted) bias, by neuron, when per-neuron
    RESET_VALUE = 10  #: reset value, by neuron, when per-neuron
    STATUS = 11  #: a status word; the ``neuron`` field selects it (:class:`Status`)
    INPUT_COUNT = 12  #: spikes counted this step on an axon, by axon (read only, with a cap)
    SYNAPSE_TARGET = 13  #: neuron of fan-out slot ``neuron`` of ``axon`` (read only, sparse only)
    PRE_TRACE = 14  #: STDP pre-synaptic trace, by axon (read only, with ``stdp``)
    POST_TRACE = 15  #: STDP post-synaptic trace, by neuron (read only, with ``stdp``)
    # Codes from 16 on widen the ``target`` field to 5 bits; a core has them only when it holds
    # these per-neuron parameters, so a shared-parameter core keeps its 4-bit field.
    V_DECAY = 16  #: membrane decay operand (factor 2^k-d-o, or shift), when per-neuron
    I0_DECAY = 17  #: decay operand of current 0, when per-neuron
    I1_DECAY = 18  #: decay operand of current 1, when per-neuron
    DRIVE_BIAS = 19  #: drive bias (weight units, before input_shift), when per-neuron
    #: previous step's spike count, by neuron, with ``reset_delay`` (a state: the next update
    #: subtracts its threshold; written to 0 by the end-of-sample clear)
    PENDING = 20


class Status(enum.IntEnum):
    """Status words, read with ``Target.STATUS`` and ``neuron`` set to one of these."""

    OVERFLOW_EVENTS = 0  #: events dropped because a step had more than max_events_per_step
    INVALID_AXON_EVENTS = 1  #: events dropped because their axon was >= n_axons
    STEP = 2  #: number of the step being accumulated (wraps at 2^STEP_WIDTH)
    EVENTS_THIS_STEP = 3  #: events added in the current step (saturating)
    #: with ``stdp``: 1 while the core learns (after reset), 0 with weights and traces frozen;
    #: the only writable status word (bit 0 of ``data``)
    LEARNING = 4


class ActivityStatus(enum.IntEnum):
    """Activity counters, status words after :class:`Status` that a core has only with
    ``activity_counters=True`` (read with ``Target.STATUS``, ``neuron`` set to one of these).
    Each counts since reset in ``ACTIVITY_COUNTER_WIDTH`` (32) bits, saturating at
    ``2**32 - 1``, read as two 16-bit words: the name (bits 0-15) and ``_HIGH`` (bits 16-31);
    ``docs/system-hardware.md`` "Activity counters"."""

    #: axon events applied to the accumulators (after the cap and the event limit; what
    #: ``Status.EVENTS_THIS_STEP`` counts, over every step)
    APPLIED_EVENTS = 5
    APPLIED_EVENTS_HIGH = 6
    #: words through the read-modify-write stage: dense, ``lane_depth`` per applied event (each
    #: reads one weight word per lane and channel); sparse, one per synapse of the fan-out list
    SYNAPTIC_OPS = 7
    SYNAPTIC_OPS_HIGH = 8
    #: neuron-update pipeline passes (every neuron of every lane, every step)
    NEURON_UPDATES = 9
    NEURON_UPDATES_HIGH = 10
    #: spike words that left ``spikes_out`` (one per spiking neuron and step)
    SPIKES_OUT = 11
    SPIKES_OUT_HIGH = 12


#: The activity counters (:class:`ActivityStatus`, each one low and one high word).
ACTIVITY_COUNTERS = ("APPLIED_EVENTS", "SYNAPTIC_OPS", "NEURON_UPDATES", "SPIKES_OUT")
#: Width of the activity counters (a run's total: 16 bits would saturate within a few samples).
ACTIVITY_COUNTER_WIDTH = 32


def layout_fields(layout) -> dict:
    """``{name: (offset, width, signed)}`` of a struct layout, for testbenches that decode the
    flattened payload of a stream port."""
    return {
        name: (field.offset, field.width, Shape.cast(field.shape).signed) for name, field in layout
    }


def _check_integer(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer between {low} and {high}, not {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be an integer between {low} and {high}, not {value}")
    return int(value)


def _bits(value: int) -> int:
    """Bits of an unsigned field that holds 0..value (at least 1)."""
    return max(1, int(value).bit_length())


_PARAM_TARGETS = (
    ("threshold", Target.THRESHOLD),
    ("bias", Target.BIAS),
    ("reset_value", Target.RESET_VALUE),
    ("v_decay", Target.V_DECAY),
    ("i_decay0", Target.I0_DECAY),
    ("i_decay1", Target.I1_DECAY),
    ("drive_bias", Target.DRIVE_BIAS),
)
#: Per-neuron parameters whose targets need the 5-bit ``target`` field.
_WIDE_TARGET_NAMES = frozenset(name for name, code in _PARAM_TARGETS if code >= 16)


class CoreConfig:
    """The description of one neuron core: validated options and everything derived from them.

    A ``CoreConfig`` is immutable and builds no hardware. ``NeuronCore(config)`` builds the core
    it describes; ``NeuronCore(params, **options)`` builds the config from the same arguments.

    Parameters
    ----------
    params : NeuronParams
        The neuron model; per-neuron arrays must have ``n_neurons`` entries.
    n_neurons : int, 1..4096
    n_axons : int, 1..65536
    weight_width : int, 1..32
        Signed width of a weight.
    weights : array or None
        Initial weights, shape (channels, n_axons, n_neurons) or (n_axons, n_neurons) for one
        channel; ``None`` for all zero. Writable at run time over ``cmd``.
    connectivity : "dense" or "sparse"
        "sparse" stores one fan-out list per axon, built from the non-zero pattern of
        ``weights`` (fixed at generation; the weights stay writable). Needs ``lanes=1``.
    lanes : power of two, 1..64
        Neuron ``n`` lives in lane ``n % lanes``; each clock does ``lanes`` synaptic operations
        (dense) and ``lanes`` neuron updates in the sweep. Other values are refused.
    per_neuron : set of "threshold", "bias", "reset_value", "v_decay", "i_decay0", "i_decay1",
        "drive_bias"
        Parameters held in a per-neuron memory (writable over ``cmd``) instead of a constant.
        Default: the fields that ``params`` gives per neuron; those must be included. A decay's
        memory holds the operand the datapath uses: the factor ``2^bits - constant - offset`` of
        a multiply decay, the shift of a shift decay.
    max_events_per_step : int or None
        Largest number of input events added in one step. Sets the exact accumulator width
        (``weight_width + bits(max_events_per_step)``). Events past it in one step are dropped
        and counted (``Status.OVERFLOW_EVENTS``). Default: ``n_axons * input_count_cap`` (then no
        event can overflow), or ``n_axons * 65535`` without a cap, for accumulation 'sum';
        unlimited for 'per_event', which keeps no accumulator.
    max_delay : int, 1..256
        Depth of the ring of drive accumulators (``docs/learning.md`` section 3): an event of
        step ``t`` on a synapse of delay ``d`` adds its weight to the drive of step
        ``t + d - 1``. Above 1, needs accumulation 'sum'.
    delays : array or None
        Delay of every synapse, the weights' shape, in 0..max_delay (0, where there is no
        synapse, is stored as 1); ``None`` for 1 everywhere. Fixed at generation.
    stdp : STDPParams or None
        On-chip trace-based pair STDP (``docs/learning.md`` section 2) on the ``plastic``
        weights: depression as each event's row is read, potentiation by a walk of every
        spiking neuron's column after the sweep. Needs connectivity 'dense', accumulation
        'sum', weight_memory 'bram' and ``params.input_count_cap == 1``.
    plastic : bool array or None
        Which weights learn (the weights' shape); default ``weights != 0``. Only with ``stdp``.
    value_width : int, 0 or 2..33
        0: an event is one spike on an axon. Above 0: graded events (``docs/core.md``, "Graded
        events"): ``spikes_in`` carries ``{axon, value}``, ``value`` signed of this width, and
        the event adds ``value * weight`` (one multiplier per lane and channel, in the event
        pipeline: still ``lanes`` synaptic operations per clock); a plain spike is ``value =
        1``. Then ``max_events_per_step`` bounds the sum of ``|value|`` in a step (the
        accumulator stays exact) and its default is ``n_axons * max(cap or 65535,
        2**(value_width - 1))``. Needs accumulation 'sum' and no ``stdp``.
    packed_weights : bool
        With ``weight_memory='spram'``: the weights of :attr:`lanes_per_weight_word` lanes
        (the largest power of two that is at most ``16 // weight_width`` and at most
        ``lanes``: 4 of 4 bits, 8 of 2 bits) share one 16-bit SPRAM word, each
        lane its ``weight_width``-bit slice, so one read feeds that many lanes and a core holds
        ``lanes / lanes_per_weight_word`` weight memories per channel instead of ``lanes``. A
        ``cmd`` write changes one lane's slice (the word has a write enable per slice). Off
        (default): one memory per lane, the core is built exactly as without the option.
    activity_counters : bool
        Add the :class:`ActivityStatus` counters (applied events, synaptic operations, neuron
        updates, spikes out), read as status words. Off (default): the core is built exactly
        as without the option.
    """

    def __init__(
        self,
        params,
        *,
        n_neurons,
        n_axons,
        weight_width,
        weights=None,
        connectivity="dense",
        lanes=1,
        per_neuron=None,
        max_events_per_step=None,
        weight_memory="bram",
        max_delay=1,
        delays=None,
        stdp=None,
        plastic=None,
        value_width=0,
        packed_weights=False,
        activity_counters=False,
    ):
        if not isinstance(params, NeuronParams):
            raise TypeError(f"params must be a NeuronParams, not {params!r}")
        n_neurons = _check_integer(n_neurons, "n_neurons", 1, MAX_NEURONS)
        n_axons = _check_integer(n_axons, "n_axons", 1, MAX_AXONS)
        weight_width = _check_integer(weight_width, "weight_width", 1, MAX_WEIGHT_WIDTH)
        if connectivity not in ("dense", "sparse"):
            raise ValueError(f"connectivity must be one of 'dense', 'sparse', not {connectivity!r}")
        lanes = _check_integer(lanes, "lanes", 1, MAX_LANES)
        if lanes & (lanes - 1):
            raise ValueError(
                f"lanes={lanes} is not implemented by NeuronCore; use a power of "
                f"two (neurons are banked by the low bits of their address)"
            )
        if connectivity == "sparse" and lanes != 1:
            raise ValueError(
                f"lanes={lanes} with connectivity 'sparse' is not implemented by "
                f"NeuronCore; use lanes=1"
            )
        if weight_memory not in ("bram", "spram"):
            raise ValueError(f"weight_memory must be one of 'bram', 'spram', not {weight_memory!r}")
        if weight_memory == "spram" and connectivity != "dense":
            raise ValueError(
                "weight_memory 'spram' is implemented for connectivity 'dense' "
                "only (sparse weights are initialized at generation time)"
            )
        if weight_memory == "spram" and weight_width > SPRAM_WIDTH:
            raise ValueError(
                f"weight_memory 'spram' holds weights of up to {SPRAM_WIDTH} bits, "
                f"not {weight_width}"
            )
        if not isinstance(packed_weights, bool):
            raise TypeError(f"packed_weights must be True or False, not {packed_weights!r}")
        if packed_weights and weight_memory != "spram":
            raise ValueError(
                f"packed_weights=True needs weight_memory 'spram' (16-bit SPRAM words shared "
                f"by several lanes), not {weight_memory!r}"
            )
        params.check_population_size(n_neurons)
        if (
            params.accumulation is Accumulation.PER_EVENT
            and params.input_timing is InputTiming.AFTER_DECAY
        ):
            raise ValueError(
                "accumulation 'per_event' with input_timing 'after_decay' is not "
                "implemented by NeuronCore: events are added to the current before "
                "the sweep decays it; use input_timing 'before_decay'"
            )
        per_neuron = self._check_per_neuron(params, per_neuron)

        # Weights.
        channels = params.input_channels
        if weights is None:
            weights = np.zeros((channels, n_axons, n_neurons), dtype=np.int64)
        else:
            weights = check_weights(params, weights, n_neurons, weight_width)
            if weights.shape[1] != n_axons:
                raise ValueError(f"weights have {weights.shape[1]} axons, but n_axons is {n_axons}")

        max_delay = _check_integer(max_delay, "max_delay", 1, MAX_DELAY)
        sum_mode = params.accumulation is Accumulation.SUM
        if max_delay > 1 and not sum_mode:
            raise ValueError(
                f"max_delay={max_delay} needs accumulation 'sum' (delays are a ring "
                f"of drive accumulators), not {params.accumulation.value!r}"
            )
        delays = self._check_delays(delays, weights.shape, max_delay)
        plastic = self._check_stdp(
            params, stdp, plastic, weights, weight_width, connectivity, weight_memory
        )

        if weight_memory == "spram" and np.any(weights != 0):
            raise ValueError(
                "weight_memory 'spram' has no initial contents (the iCE40 SPRAM "
                "cannot be initialized by the bitstream): leave weights=None and "
                "write the weights over cmd"
            )

        value_width = _check_integer(value_width, "value_width", 0, MAX_VALUE_WIDTH)
        if value_width:
            if value_width < 2:
                raise ValueError(
                    f"value_width={value_width} cannot hold the value 1 of a plain "
                    f"spike as a signed number; use 0 (no graded events) or 2.."
                    f"{MAX_VALUE_WIDTH}"
                )
            if not sum_mode:
                raise ValueError(
                    f"value_width={value_width} (graded events) needs accumulation "
                    f"'sum', not {params.accumulation.value!r}"
                )
            if stdp is not None:
                raise ValueError(
                    f"value_width={value_width} (graded events) cannot be used with "
                    f"stdp: the traces count spikes, not values"
                )

        # Events per step and the accumulator width they need.
        cap = params.input_count_cap
        bound = n_axons * (cap if cap is not None else MAX_SPIKE_COUNT)
        if value_width:
            # A graded event adds up to |value| <= 2^(value_width - 1) weights at once.
            bound = n_axons * max(
                cap if cap is not None else MAX_SPIKE_COUNT, 1 << (value_width - 1)
            )
        if max_events_per_step is None:
            max_events_per_step = bound if sum_mode else None
        else:
            max_events_per_step = _check_integer(
                max_events_per_step, "max_events_per_step", 1, MAX_EVENTS
            )
        # The update datapath's own check (neurohw.hw.neuron_update.NeuronUpdate), made here so
        # that a core fails when it is described, naming the option.
        if params.accumulation is Accumulation.PER_EVENT and np.any(
            np.asarray(params.drive_bias) != 0
        ):
            raise ValueError(
                f"drive_bias is not supported with accumulation 'per_event': "
                f"{per_neuron_unusable(params, 'drive_bias')}"
            )
        #: Whether the event limit needs a counter: only where it can be reached.
        self.event_limited = max_events_per_step is not None and (
            cap is None or max_events_per_step < bound
        )

        self.params = params
        self.n_neurons = n_neurons
        self.n_axons = n_axons
        self.weight_width = weight_width
        self.weights = weights.astype(np.int64)
        self.weights.setflags(write=False)
        self.connectivity = connectivity
        self.sparse = connectivity == "sparse"
        self.sum_mode = sum_mode
        # Sparse: the synapses are the non-zero pattern of the weights (any channel), one
        # fan-out list per axon in ascending neuron order, stored back to back.
        present = np.any(self.weights != 0, axis=0)  # (axons, neurons)
        self.fanout = tuple(int(x) for x in present.sum(axis=1))
        self.fanout_start = tuple(
            int(x) for x in np.concatenate([[0], np.cumsum(self.fanout)[:-1]])
        )
        self.synapse_targets = tuple(
            int(n) for a in range(n_axons) for n in np.flatnonzero(present[a])
        )
        self.n_synapses = len(self.synapse_targets)
        self.lanes = lanes
        self.weight_memory = weight_memory
        self.packed_weights = packed_weights
        #: Lanes whose weights share one weight memory word (1 unless ``packed_weights``).
        self.lanes_per_weight_word = (
            min(lanes, 1 << ((SPRAM_WIDTH // weight_width).bit_length() - 1))
            if packed_weights
            else 1
        )
        self.max_events_per_step = max_events_per_step
        self.channels = channels
        self.max_delay = max_delay
        self.delays = delays
        self.stdp = stdp
        self.plastic = plastic
        self.value_width = value_width
        self.per_neuron = per_neuron
        if not isinstance(activity_counters, bool):
            raise TypeError(f"activity_counters must be True or False, not {activity_counters!r}")
        self.activity_counters = activity_counters
        #: status words present: those of :class:`Status`, then :class:`ActivityStatus`
        self.n_status = (max(ActivityStatus) if activity_counters else max(Status)) + 1

        self._widths(params, cap, stdp)
        self._memory_geometry()
        self._layouts(params)
        self._frozen = True

    def __setattr__(self, name, value):
        if getattr(self, "_frozen", False):
            raise AttributeError(
                f"a CoreConfig is immutable; build a new one instead of setting {name!r}"
            )
        super().__setattr__(name, value)

    def _widths(self, params, cap, stdp):
        """Address, state, parameter, accumulator and command data widths."""
        self.neuron_bits = _bits(self.n_neurons - 1)
        #: Neurons per lane (the last lane-row may be partly padding).
        self.lane_depth = -(-self.n_neurons // self.lanes)
        self.lane_bits = (self.lanes - 1).bit_length()
        self.local_bits = _bits(self.lane_depth - 1)
        self.axon_bits = _bits(self.n_axons - 1)
        self.v_state_width = state_port_width(params, "v")
        self.i_state_width = state_port_width(params, "i")
        self.refractory_bits = (
            params.refractory_period.bit_length() if params.refractory_period else 0
        )
        self.param_width = params.v_width + 1
        #: Shape of each per-neuron parameter memory (and of its port on the datapath).
        self.param_shapes = {
            name: Shape.cast(per_neuron_shape(params, name))
            for name in PER_NEURON_NAMES
            if name in self.per_neuron
        }
        # cmd data is signed: an unsigned parameter needs one more bit.
        param_data_width = max(
            [self.param_width]
            + [shape.width + (not shape.signed) for shape in self.param_shapes.values()]
        )
        self.target_bits = (
            5
            if (params.reset_delay or any(name in self.per_neuron for name in _WIDE_TARGET_NAMES))
            else 4
        )
        # A ring slot gathers the events of up to max_delay steps.
        self.acc_width = (
            (self.weight_width + (self.max_events_per_step * self.max_delay).bit_length())
            if self.sum_mode
            else 0
        )
        self.delay_bits = (self.max_delay - 1).bit_length()
        self.count_bits = _bits(cap) if cap is not None else 0
        self.data_width = max(
            self.v_state_width,
            self.i_state_width,
            self.refractory_bits + 1,
            self.acc_width,
            self.weight_width,
            param_data_width,
            COUNTER_WIDTH + 1,
            STEP_WIDTH + 1,
            self.count_bits + 1,
            stdp.trace_width + 1 if stdp is not None else 0,
        )
        #: Enabled cycles of the neuron update pipeline (``NeuronUpdate.latency``).
        self.update_latency = len(update_stages(params))

    def _layouts(self, params):
        """The stream payload layouts."""
        self.cmd_layout = data.StructLayout(
            {
                "write": unsigned(1),
                "target": unsigned(self.target_bits),
                # Wide enough for every Status index too.
                "neuron": unsigned(max(self.neuron_bits, _bits(self.n_status - 1))),
                "axon": unsigned(self.axon_bits),
                "data": signed(self.data_width),
            }
        )
        self.rsp_layout = data.StructLayout(
            {
                "data": signed(self.data_width),
                "error": unsigned(1),
            }
        )
        #: What one ``spikes_in`` transfer carries.
        self.event_layout = (
            data.StructLayout({"axon": unsigned(self.axon_bits), "value": signed(self.value_width)})
            if self.value_width
            else unsigned(self.axon_bits)
        )
        self.spike_layout = data.StructLayout(
            {
                "neuron": unsigned(self.neuron_bits),
                "count": unsigned(params.spike_count_width),
                "step": unsigned(STEP_WIDTH),
            }
        )

    def _memory_geometry(self):
        """Words, banks and pipeline stages of the weight store and the event pipeline."""
        #: Words of one weight memory (per lane and channel): one per synapse (sparse) or per
        #: axon and local neuron (dense).
        self.weight_depth = (
            max(1, self.n_synapses) if self.sparse else (self.n_axons * self.lane_depth)
        )
        # Weight memories are split into banks of `bank_depth` words (SPRAM blocks with
        # weight_memory='spram'); with more than one bank, each bank's read data is registered
        # and the bank is selected from the registers one cycle later.
        self.bank_depth = (
            SPRAM_DEPTH if self.weight_memory == "spram" else weight_bank_depth(self.weight_width)
        )
        self.n_banks = -(-self.weight_depth // self.bank_depth)
        self.multibank = self.n_banks > 1
        self.bank_bits = (self.bank_depth - 1).bit_length() if self.multibank else 0
        ring = self.max_delay > 1
        # Weight read data. Multi-bank: every bank's read data is registered `bank_stages`
        # times and the bank selected from the last registers, so the weight reaches the
        # read-data stage R `bank_stages` cycles later than with one bank.
        # Dense: two register stages per bank (the first can sit next to its block RAM, the
        # second next to the bank select); sparse: one.
        # Dense with a delay ring: one stage more, so that the accumulator read (which needs the
        # synapse's delay, read with its weight) is issued a cycle after the weight read.
        self.bank_stages = (
            (1 if self.sparse else 2) if self.multibank else (1 if ring and not self.sparse else 0)
        )
        # Stage of the accumulator read (R - 1) and of the write (W), counted from S0.
        self.acc_read_stage = 1 if self.sparse else self.bank_stages
        self.write_stage = self.acc_read_stage + 2
        # Cycles from a command's read (DBG_ISSUE) to the capture: 1 + W waits, W the register
        # stages between a weight read and the weight register of stage W (sparse: at least
        # one, the registered read data of the one-bank memory).
        self.weight_stages = max(self.bank_stages, 1) if self.sparse else self.bank_stages
        # Synapse attribute word: per channel, the delay - 1 (delay_bits), then per channel the
        # plastic bit.
        self.attr_width = self.channels * self.delay_bits + (
            self.channels if self.stdp is not None else 0
        )

    @staticmethod
    def _check_per_neuron(params, per_neuron):
        """The per-neuron parameter names, as a frozenset."""
        given_per_neuron = per_neuron_given(params)
        if per_neuron is None:
            per_neuron = given_per_neuron
        else:
            if isinstance(per_neuron, str):
                raise TypeError(
                    f"per_neuron must be a set of names among "
                    f"{', '.join(map(repr, PER_NEURON_NAMES))}, not {per_neuron!r}"
                )
            per_neuron = set(per_neuron)
            for name in sorted(per_neuron, key=str):
                if name not in PER_NEURON_NAMES:
                    raise ValueError(
                        f"per_neuron names must be among "
                        f"{', '.join(map(repr, PER_NEURON_NAMES))}, not {name!r}"
                    )
            for name in sorted(given_per_neuron - per_neuron):
                raise ValueError(f"per_neuron must include {name!r}: params give it per neuron")
        for name in sorted(per_neuron):
            reason = per_neuron_unusable(params, name)
            if reason is not None:
                raise ValueError(f"per_neuron {name!r} cannot be used: {reason}")
        return frozenset(per_neuron)

    def port_description(self) -> dict:
        """Field offsets of the stream payloads and the targets present, as plain data."""
        params = self.params
        targets = {
            "V": True,
            "I0": params.n_currents >= 1,
            "I1": params.n_currents >= 2,
            "REFRACTORY": params.refractory_period > 0,
            "PENDING": params.reset_delay,
            "ACC0": self.acc_width > 0,
            "ACC1": self.acc_width > 0 and self.channels > 1,
            "WEIGHT0": True,
            "WEIGHT1": self.channels > 1,
            "THRESHOLD": "threshold" in self.per_neuron,
            "BIAS": "bias" in self.per_neuron,
            "RESET_VALUE": "reset_value" in self.per_neuron,
            **{
                code.name: name in self.per_neuron
                for name, code in _PARAM_TARGETS
                if name in _WIDE_TARGET_NAMES
            },
            "STATUS": True,
            "INPUT_COUNT": self.count_bits > 0,
            "SYNAPSE_TARGET": self.connectivity == "sparse",
            "PRE_TRACE": self.stdp is not None,
            "POST_TRACE": self.stdp is not None,
        }
        return {
            "spikes_in": (
                layout_fields(self.event_layout)
                if self.value_width
                else {"axon": (0, self.axon_bits, False)}
            ),
            "value_width": self.value_width,
            "cmd": layout_fields(self.cmd_layout),
            "rsp": layout_fields(self.rsp_layout),
            "spikes_out": layout_fields(self.spike_layout),
            "targets": {name: int(Target[name]) for name, present in targets.items() if present},
            "status": {
                member.name: int(member)
                for member in (*Status, *(ActivityStatus if self.activity_counters else ()))
            },
            "step_width": STEP_WIDTH,
            "latency": self.update_latency,
            "lanes": self.lanes,
            "connectivity": self.connectivity,
            "input_count_cap": params.input_count_cap,
            "event_limit": self.max_events_per_step if self.event_limited else None,
            "event_cycles": [self.event_cycles(a) for a in range(self.n_axons)],
            "max_delay": self.max_delay,
            "stdp": self.stdp is not None,
        }

    @staticmethod
    def _check_delays(delays, shape, max_delay):
        """The delays as an int64 array of ``shape`` (0 stored as 1), read only."""
        if delays is None:
            out = np.ones(shape, dtype=np.int64)
        else:
            array = np.asarray(delays)
            if array.ndim == 2 and shape[0] == 1:
                array = array[np.newaxis]
            if array.dtype.kind not in "iu":
                raise TypeError(f"delays must be an integer array, not dtype {array.dtype}")
            if array.shape != shape:
                raise ValueError(
                    f"delays must have the weights' shape {shape}, not {np.shape(delays)}"
                )
            bad = np.argwhere((array < 0) | (array > max_delay))
            if len(bad):
                index = tuple(int(x) for x in bad[0])
                raise ValueError(
                    f"delays{list(index)} = {int(array[index])} is outside "
                    f"0..max_delay={max_delay}; raise max_delay or shorten the "
                    f"delay"
                )
            out = np.maximum(array.astype(np.int64), 1)
        out.setflags(write=False)
        return out

    @staticmethod
    def _check_stdp(params, stdp, plastic, weights, weight_width, connectivity, weight_memory):
        """The plastic mask (bool, the weights' shape, read only), or None without STDP."""
        if stdp is None:
            if plastic is not None:
                raise ValueError(
                    "plastic is given without stdp; pass stdp=STDPParams(...) to make weights learn"
                )
            return None
        if not isinstance(stdp, STDPParams):
            raise TypeError(f"stdp must be a neurohw.model.stdp.STDPParams or None, not {stdp!r}")
        if connectivity != "dense":
            raise ValueError(
                "stdp is implemented for connectivity 'dense' only (potentiation "
                "walks a neuron's weight column, which a fan-out list cannot)"
            )
        if params.accumulation is not Accumulation.SUM:
            raise ValueError(f"stdp needs accumulation 'sum', not {params.accumulation.value!r}")
        if weight_memory != "bram":
            raise ValueError(
                f"stdp needs weight_memory 'bram' (a learning weight is read and "
                f"written in one cycle), not {weight_memory!r}"
            )
        if params.input_count_cap != 1:
            raise ValueError(
                f"stdp needs params.input_count_cap=1, not "
                f"{params.input_count_cap!r}: an axon's first event of a step "
                f"depresses its row, so a second event would read the depressed "
                f"weights"
            )
        low, high = -(1 << (weight_width - 1)), (1 << (weight_width - 1)) - 1
        if stdp.w_min < low or stdp.w_max > high:
            raise ValueError(
                f"stdp bounds [w_min, w_max] = [{stdp.w_min}, {stdp.w_max}] must "
                f"lie within the {weight_width}-bit weight range [{low}, {high}]"
            )
        if plastic is None:
            mask = weights != 0
        else:
            mask = np.asarray(plastic)
            if mask.ndim == 2 and weights.shape[0] == 1:
                mask = mask[np.newaxis]
            if mask.dtype != bool or mask.shape != weights.shape:
                raise ValueError(
                    f"plastic must be a boolean array of the weights' shape "
                    f"{weights.shape}, not {mask.dtype} {np.shape(plastic)}"
                )
            mask = mask.copy()
        bad = np.argwhere(mask & ((weights < stdp.w_min) | (weights > stdp.w_max)))
        if len(bad):
            index = tuple(int(x) for x in bad[0])
            raise ValueError(
                f"plastic weight weights{list(index)} = {int(weights[index])} is "
                f"outside the stdp bounds [w_min, w_max] = "
                f"[{stdp.w_min}, {stdp.w_max}]"
            )
        mask.setflags(write=False)
        return mask

    def event_cycles(self, axon: int) -> int:
        """Cycles the event engine spends on one event of ``axon`` at full rate."""
        if self.connectivity == "sparse":
            return max(1, self.fanout[axon])
        return self.lane_depth

    def synapse_slot(self, axon: int, neuron: int) -> int | None:
        """Sparse only: the slot of ``neuron`` in the fan-out list of ``axon`` (the ``neuron``
        field of a weight command), or ``None`` if there is no such synapse."""
        start = self.fanout_start[axon]
        targets = self.synapse_targets[start : start + self.fanout[axon]]
        return targets.index(neuron) if neuron in targets else None

    def synapse_pairs(self):
        """(axon, neuron) of every synapse, in memory order."""
        index = 0
        for axon, count in enumerate(self.fanout):
            for _ in range(count):
                yield axon, self.synapse_targets[index]
                index += 1
