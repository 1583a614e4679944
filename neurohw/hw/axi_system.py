"""A whole chip behind standard AXI interfaces (``docs/integration.md``, "The chip's AXI
wrapper"): :class:`AxiSystem` is a :class:`~neurohw.hw.system.SystemTop` with

* ``s_axis``: input events, one beat per input line and step, the step boundary in-band (TLAST
  on the step's last beat; an empty step is one beat flagged ``NO_EVENT`` in TUSER);
* ``m_axis``: output spikes, one word per spiking output neuron, then an end-of-step word with
  TLAST, so empty steps are visible;
* ``s_axil``: the AXI4-Lite register bank of :mod:`neurohw.host.axi_registers` (run control,
  counters, error flags, state/weight/parameter reads and writes through the chip's command
  path).

The word layouts are defined once, in :mod:`neurohw.host.axi` (the host's side). Inside,
everything is ``amaranth.lib.stream``: :class:`InputFramer` turns beats into the chip's host
event words (``neurohw.network.host_events``), :class:`OutputFramer` turns the chip's
``host_out`` words into output words, :class:`AxiLiteRegisters` is the register bank.
"""

from __future__ import annotations

from amaranth.hdl import (
    ClockDomain,
    Const,
    DomainRenamer,
    Module,
    Mux,
    ResetInserter,
    Shape,
    Signal,
    unsigned,
)
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..host.axi import (
    ADDRESS_BITS,
    IN_FLAGS,
    OUT_END_OF_STEP_BIT,
    WORD_BITS,
    InFlag,
    input_lines,
    output_bases,
)
from ..host.axi_registers import AXI_MAGIC, REGISTER_MAP_VERSION, register
from ..network.plan import ChipPlan
from .event import EventKind, event_layout
from .system import SystemTop

__all__ = ["AxiSystem", "InputFramer", "OutputFramer", "AxiLiteRegisters", "AXI_TOPLEVEL"]

#: Name of the generated Verilog module.
AXI_TOPLEVEL = "neurohw_axi_system"

#: Width of the saturating counters the wrapper adds.
COUNTER_BITS = 32

#: An input beat inside the wrapper: TDATA, TLAST and TUSER of ``s_axis``.
BEAT = data.StructLayout(
    {"data": unsigned(WORD_BITS), "last": unsigned(1), "user": unsigned(len(InFlag))}
)
#: An output word inside the wrapper: TDATA and TLAST of ``m_axis``.
OUT_WORD = data.StructLayout({"data": unsigned(WORD_BITS), "last": unsigned(1)})


def _saturating_counter(m, name, bump):
    """A ``COUNTER_BITS`` counter of the cycles with ``bump`` high, stuck at its top."""
    count = Signal(COUNTER_BITS, name=name)
    with m.If(bump & (count != (1 << COUNTER_BITS) - 1)):
        m.d.sync += count.eq(count + 1)
    return count


class InputFramer(wiring.Component):
    """``s_axis`` beats (:data:`BEAT`) to the chip's host event words.

    A beat without ``NO_EVENT`` is a spike of input line ``ADDRESS`` with ``VALUE``; a beat
    with TLAST closes the step (after the end-of-sample control event when it has
    ``END_OF_SAMPLE``): exactly the words of ``neurohw.network.host_events.encode_samples``.
    A beat whose address is not below the input count, or whose value the line's group cannot
    carry (what ``input_payload`` refuses), sends no event and is counted; its TLAST still
    closes the step. Lines that reach no core (no synapse) are taken and have no effect, as in
    the model.

    Members: ``i`` In(stream of :data:`BEAT`), ``o`` Out(stream of event words), ``enable``
    In(1) (a new beat is taken only while high), ``dropped_address`` / ``dropped_value``
    Out(32) (saturating).
    """

    def __init__(self, plan: ChipPlan):
        if not isinstance(plan, ChipPlan):
            raise TypeError(f"plan must be a ChipPlan, not {plan!r}")
        self.plan = plan
        self.fmt = plan.fmt
        self.lines = input_lines(plan)
        super().__init__(
            {
                "i": In(stream.Signature(BEAT)),
                "o": Out(stream.Signature(unsigned(plan.fmt.width))),
                "enable": In(1, init=1),
                "dropped_address": Out(COUNTER_BITS),
                "dropped_value": Out(COUNTER_BITS),
            }
        )

    def _value_ok(self, m, address, value):
        """Per input group: the address is the group's and the value is one it may carry."""
        width = self.fmt.payload_width
        oks = []
        for group in self.lines.groups:
            low, high = group.low, group.high
            inside = (address >= group.offset) & (address < group.offset + group.size)
            number = value.as_signed() if low < 0 else value
            fits = (number >= low) & (number <= high)
            if width == 0:
                fits = value == 1
            oks.append(inside & fits)
        ok = Signal()
        m.d.comb += ok.eq(Const(0, 1) if not oks else _any(oks))
        return ok

    def elaborate(self, platform):
        m = Module()
        plan, fmt = self.plan, self.fmt
        beat = self.i.payload
        address = beat.data[: self.lines.address_bits]
        value = beat.data[self.lines.address_bits :]
        has_event = ~beat.user[IN_FLAGS[InFlag.NO_EVENT]]
        end_of_sample = beat.user[IN_FLAGS[InFlag.END_OF_SAMPLE]]
        in_range = Signal()
        m.d.comb += in_range.eq(address < self.lines.count)
        value_ok = self._value_ok(m, address, value)
        # Only lines with a synapse are routed: a key without an entry would be a router drop.
        routed = Const(self.lines.routed_mask, max(1, self.lines.count))
        is_routed = Signal()
        m.d.comb += is_routed.eq(routed.bit_select(address, 1))
        send = Signal()
        m.d.comb += send.eq(has_event & in_range & value_ok & is_routed)

        window = Signal(fmt.step_width, init=(1 << fmt.step_width) - 1)  # window -1 at reset
        tick = plan.tick_key(plan.host)
        host_base = plan.host * plan.keys_per_endpoint
        event = data.View(event_layout(fmt), self.o.payload)
        # A beat becomes up to three words: its spike, the end-of-sample control, the barrier.
        phase = Signal(range(3))
        started = Signal()  # the beat on the input has sent a word already
        m.d.comb += event.step.eq(window)
        with m.Switch(phase):
            with m.Case(0):
                m.d.comb += [
                    event.kind.eq(EventKind.SPIKE),
                    event.key.eq(host_base + address),
                ]
                if fmt.payload_width:
                    m.d.comb += event.payload.eq(value[: fmt.payload_width])
            with m.Case(1):
                m.d.comb += [event.kind.eq(EventKind.CONTROL), event.key.eq(tick)]
            with m.Default():
                m.d.comb += [event.kind.eq(EventKind.BARRIER), event.key.eq(tick)]

        # Which words this beat still sends, from the current phase on.
        wants = [send, beat.last & end_of_sample, beat.last]
        active = Signal()
        m.d.comb += active.eq(self.i.valid & (self.enable | started))
        current = Signal()
        m.d.comb += current.eq(Mux(phase == 0, wants[0], Mux(phase == 1, wants[1], wants[2])))
        # The beat is finished when no later phase wants a word.
        later = Signal()
        m.d.comb += later.eq(
            Mux(phase == 0, wants[1] | wants[2], Mux(phase == 1, wants[2], Const(0, 1)))
        )
        m.d.comb += self.o.valid.eq(active & current)
        done_now = Signal()
        m.d.comb += done_now.eq(active & (~current | self.o.ready) & ~later)
        m.d.comb += self.i.ready.eq(done_now)
        with m.If(active & (~current | self.o.ready)):
            with m.If(later):
                m.d.sync += [phase.eq(phase + 1), started.eq(1)]
            with m.Else():
                m.d.sync += [phase.eq(0), started.eq(0)]
        with m.If(self.o.valid & self.o.ready & (phase == 2)):
            m.d.sync += window.eq(window + 1)

        taken = self.i.valid & self.i.ready & has_event
        m.d.comb += [
            self.dropped_address.eq(_saturating_counter(m, "dropped_address", taken & ~in_range)),
            self.dropped_value.eq(
                _saturating_counter(m, "dropped_value", taken & in_range & ~value_ok)
            ),
        ]
        return m


class OutputFramer(wiring.Component):
    """The chip's ``host_out`` words to ``m_axis`` words (:data:`OUT_WORD`).

    A spike of an output neuron becomes its output index and count; a barrier becomes the
    end-of-step word (TLAST, the step number), except the chip's first barrier after reset
    (window -1, which closes no step). The payload is the chip's own, unregistered:
    ``host_out`` holds it while stalled.

    Members: ``i`` In(event words), ``o`` Out(stream of :data:`OUT_WORD`), ``steps`` Out(32)
    (end-of-step words sent, saturating).
    """

    def __init__(self, plan: ChipPlan):
        if not isinstance(plan, ChipPlan):
            raise TypeError(f"plan must be a ChipPlan, not {plan!r}")
        self.plan = plan
        self.bases = output_bases(plan)
        super().__init__(
            {
                "i": In(stream.Signature(unsigned(plan.fmt.width))),
                "o": Out(stream.Signature(OUT_WORD)),
                "steps": Out(COUNTER_BITS),
            }
        )

    def elaborate(self, platform):
        m = Module()
        plan, fmt = self.plan, self.plan.fmt
        event = data.View(event_layout(fmt), self.i.payload)
        is_barrier = event.kind == EventKind.BARRIER
        first_seen = Signal()  # the reset barrier has gone by
        swallow = Signal()
        m.d.comb += swallow.eq(is_barrier & ~first_seen)
        step = Signal(OUT_END_OF_STEP_BIT)
        log_k = plan.keys_per_endpoint.bit_length() - 1
        core = event.key[log_k:]
        local = event.key[:log_k]
        index = Signal(ADDRESS_BITS)
        with m.Switch(core):
            for c, base in self.bases.items():
                with m.Case(c):
                    m.d.comb += index.eq(base + local)
        count = event.payload if fmt.payload_width else Const(1, 1)
        out = self.o.payload
        with m.If(is_barrier):
            m.d.comb += [out.data.eq(step | (1 << OUT_END_OF_STEP_BIT)), out.last.eq(1)]
        with m.Else():
            m.d.comb += out.data.eq(index | (count << ADDRESS_BITS))
        m.d.comb += [
            self.o.valid.eq(self.i.valid & ~swallow),
            self.i.ready.eq(self.o.ready | swallow),
        ]
        with m.If(self.i.valid & swallow):
            m.d.sync += first_seen.eq(1)
        end_of_step = self.o.valid & self.o.ready & is_barrier
        with m.If(end_of_step):
            m.d.sync += step.eq(step + 1)
        m.d.comb += self.steps.eq(_saturating_counter(m, "steps_out", end_of_step))
        return m


def _all(terms):
    result = Const(1, 1)
    for term in terms:
        result = result & term
    return result


def _any(terms):
    result = terms[0]
    for term in terms[1:]:
        result = result | term
    return result


class AxiLiteRegisters(wiring.Component):
    """The AXI4-Lite slave of the register map (:mod:`neurohw.host.axi_registers`).

    One write and one read at a time (AW and W are taken together); responses are registered.
    A write with ``WSTRB != 0xF``, a write to a read-only register, an unmapped address and a
    command while one is in flight (or without the command path) answer SLVERR and change
    nothing; reads of unmapped addresses answer SLVERR and 0. A command whose ``CMD_*`` value
    does not fit the chip's command field is not sent: ``CMD_STATUS.ERROR`` is set.

    ``plan``: the chip's (``INPUTS``, ``OUTPUTS``, ``CONFIG``); ``counters``: it has the activity
    counters; ``cmd_layout``, ``rsp_layout``: its debug port's payloads (``None``: no command
    path).

    Members: the ``s_axil_*`` signals (``ADDR_BITS``-bit addresses); the values it reads as
    ``In`` ports named after the registers (lower case); ``soft_reset`` and ``step_enable``
    Out(1); ``core_select`` Out(32); ``cmd`` Out(stream of the chip's debug command) and
    ``rsp`` In(its response) when ``debug``.
    """

    ADDR_BITS = 8

    def __init__(self, plan: ChipPlan, *, counters=False, cmd_layout=None, rsp_layout=None):
        if not isinstance(plan, ChipPlan):
            raise TypeError(f"plan must be a ChipPlan, not {plan!r}")
        if (cmd_layout is None) != (rsp_layout is None):
            raise ValueError("cmd_layout and rsp_layout go together (the chip's debug port)")
        self.plan = plan
        self.counters = bool(counters)
        self.cmd_layout, self.rsp_layout = cmd_layout, rsp_layout
        self.debug = cmd_layout is not None
        members = dict(_axil_members(self.ADDR_BITS))
        members.update(
            {
                "soft_reset": Out(1),
                "step_enable": Out(1),
                "core_select": Out(32),
            }
        )
        for name in _READ_INPUTS:
            members[name] = In(32)
        if self.debug:
            members["cmd"] = Out(stream.Signature(cmd_layout))
            members["rsp"] = In(stream.Signature(rsp_layout))
        super().__init__(members)

    def _command_fits(self, fields):
        """The ``CMD_*`` values fit the chip's command fields: a wider value would otherwise be
        truncated into another core, neuron or axon."""
        layout = self.cmd_layout
        terms = []
        for name, field in (
            ("CMD_CORE", "core"),
            ("CMD_TARGET", "target"),
            ("CMD_NEURON", "neuron"),
            ("CMD_AXON", "axon"),
        ):
            width = Shape.cast(layout[field].shape).width
            if width < 32:
                terms.append(fields[name][width:] == 0)
        width = Shape.cast(layout["data"].shape).width
        if width < 32:
            # Two's complement: the bits above the field repeat its sign bit.
            high = fields["CMD_DATA"][width - 1 :]
            terms.append((high == 0) | (high == (1 << (33 - width)) - 1))
        return _all(terms)

    def elaborate(self, platform):
        m = Module()
        plan = self.plan
        okay, slverr = 0b00, 0b10

        control = register("CONTROL")
        step_enable = Signal(init=(control.reset >> 1) & 1)
        core_select = Signal(32)
        cmd_fields = {name: Signal(32, name=name.lower()) for name in _CMD_FIELDS}
        busy = Signal()
        cmd_error = Signal()
        result = Signal(32)
        m.d.comb += [self.step_enable.eq(step_enable), self.core_select.eq(core_select)]

        inputs = input_lines(plan)
        constants = {
            "ID": AXI_MAGIC,
            "VERSION": REGISTER_MAP_VERSION,
            "INPUTS": inputs.count,
            "OUTPUTS": sum(plan.network.populations[name].size for name in plan.network.outputs),
            "CONFIG": plan.n_cores
            | (int(self.debug) << 16)
            | (int(self.counters) << 17)
            | (plan.fmt.payload_width << 24),
        }

        # ---- Writes: AW and W together, then B.
        bvalid = Signal()
        bresp = Signal(2)
        write_now = Signal()
        m.d.comb += [
            write_now.eq(self.awvalid & self.wvalid & ~bvalid),
            self.awready.eq(write_now),
            self.wready.eq(write_now),
            self.bvalid.eq(bvalid),
            self.bresp.eq(bresp),
        ]
        with m.If(self.bvalid & self.bready):
            m.d.sync += bvalid.eq(0)
        m.d.sync += self.soft_reset.eq(0)
        with m.If(write_now):
            m.d.sync += [bvalid.eq(1), bresp.eq(slverr)]
            word = self.wdata
            with m.If(self.wstrb == 0xF):
                with m.Switch(self.awaddr):
                    with m.Case(control.offset):
                        m.d.sync += [
                            bresp.eq(okay),
                            self.soft_reset.eq(word[0]),
                            step_enable.eq(word[1]),
                        ]
                    with m.Case(register("CORE_SELECT").offset):
                        m.d.sync += [bresp.eq(okay), core_select.eq(word)]
                    for name, signal in cmd_fields.items():
                        with m.Case(register(name).offset):
                            m.d.sync += [bresp.eq(okay), signal.eq(word)]
                    if self.debug:
                        with m.Case(register("CMD_ISSUE").offset):
                            # A field the chip's command cannot hold is refused as a
                            # command (CMD_STATUS.ERROR), not truncated onto another address.
                            with m.If(~busy & ~self._command_fits(cmd_fields)):
                                m.d.sync += [bresp.eq(okay), cmd_error.eq(1)]
                            with m.Elif(~busy):
                                m.d.sync += [
                                    bresp.eq(okay),
                                    busy.eq(1),
                                    self.cmd.payload.write.eq(word[0]),
                                    self.cmd.payload.core.eq(cmd_fields["CMD_CORE"]),
                                    self.cmd.payload.target.eq(cmd_fields["CMD_TARGET"]),
                                    self.cmd.payload.neuron.eq(cmd_fields["CMD_NEURON"]),
                                    self.cmd.payload.axon.eq(cmd_fields["CMD_AXON"]),
                                    self.cmd.payload.data.eq(cmd_fields["CMD_DATA"]),
                                    self.cmd.valid.eq(1),
                                ]

        # ---- The command path: one command, one response.
        if self.debug:
            m.d.comb += self.rsp.ready.eq(busy & ~self.cmd.valid)
            with m.If(self.cmd.valid & self.cmd.ready):
                m.d.sync += self.cmd.valid.eq(0)
            with m.If(self.rsp.valid & self.rsp.ready):
                m.d.sync += [
                    busy.eq(0),
                    cmd_error.eq(self.rsp.payload.error),
                    result.eq(self.rsp.payload.data.as_signed()),
                ]
            # A soft reset loses the command in flight: the chip it was sent to restarts.
            with m.If(self.soft_reset):
                m.d.sync += [busy.eq(0), self.cmd.valid.eq(0), cmd_error.eq(1)]

        # ---- Reads: AR, then R (registered).
        rvalid = Signal()
        rresp = Signal(2)
        rdata = Signal(32)
        m.d.comb += [
            self.arready.eq(~rvalid),
            self.rvalid.eq(rvalid),
            self.rresp.eq(rresp),
            self.rdata.eq(rdata),
        ]
        with m.If(self.rvalid & self.rready):
            m.d.sync += rvalid.eq(0)
        with m.If(self.arvalid & self.arready):
            m.d.sync += [rvalid.eq(1), rresp.eq(okay), rdata.eq(0)]
            values = dict(constants)
            values["CONTROL"] = step_enable << 1
            values["CORE_SELECT"] = core_select
            values["STATUS"] = self.status | (busy << 6)
            values["CMD_STATUS"] = busy | (cmd_error << 1)
            values["CMD_RESULT"] = result
            values["CMD_ISSUE"] = 0
            for name in _READ_INPUTS:
                values[name.upper()] = getattr(self, name)
            values.update(cmd_fields)
            with m.Switch(self.araddr):
                for reg_name, value in values.items():
                    with m.Case(register(reg_name).offset):
                        m.d.sync += rdata.eq(value)
                with m.Default():
                    m.d.sync += rresp.eq(slverr)
        return m


def _axil_members(addr_bits):
    """The AXI4-Lite slave's signals, seen from the slave (no AWPROT/ARPROT: the bank has no
    privileged registers)."""
    return (
        ("awaddr", In(addr_bits)),
        ("awvalid", In(1)),
        ("awready", Out(1)),
        ("wdata", In(32)),
        ("wstrb", In(4)),
        ("wvalid", In(1)),
        ("wready", Out(1)),
        ("bresp", Out(2)),
        ("bvalid", Out(1)),
        ("bready", In(1)),
        ("araddr", In(addr_bits)),
        ("arvalid", In(1)),
        ("arready", Out(1)),
        ("rdata", Out(32)),
        ("rresp", Out(2)),
        ("rvalid", Out(1)),
        ("rready", In(1)),
    )


#: Registers whose values come from outside the bank (wired by :class:`AxiSystem`).
_READ_INPUTS = (
    "status",
    "dropped_address",
    "dropped_value",
    "router_drops",
    "steps_out",
    "core_invalid",
    "core_eos_dropped",
    "core_flags",
    "host_words_in",
    "host_words_out",
    "router_hops",
    "cycles",
)
_CMD_FIELDS = ("CMD_CORE", "CMD_TARGET", "CMD_NEURON", "CMD_AXON", "CMD_DATA")


class AxiSystem(wiring.Component):
    """A chip (:class:`~neurohw.hw.system.SystemTop`) behind ``s_axis`` / ``m_axis`` /
    ``s_axil`` (``docs/integration.md``). Clock ``aclk``, reset ``aresetn`` (synchronous,
    active low); made by :meth:`neurohw.Chip.axi_top`.

    Ports (Verilog names): ``s_axis_tdata`` (32), ``s_axis_tvalid``, ``s_axis_tready``,
    ``s_axis_tlast``, ``s_axis_tuser`` (2); ``m_axis_tdata`` (32), ``m_axis_tvalid``,
    ``m_axis_tready``, ``m_axis_tlast``; ``s_axil_awaddr`` (8), ``s_axil_awvalid``,
    ``s_axil_awready``, ``s_axil_wdata`` (32), ``s_axil_wstrb`` (4), ``s_axil_wvalid``,
    ``s_axil_wready``, ``s_axil_bresp`` (2), ``s_axil_bvalid``, ``s_axil_bready``,
    ``s_axil_araddr`` (8), ``s_axil_arvalid``, ``s_axil_arready``, ``s_axil_rdata`` (32),
    ``s_axil_rresp`` (2), ``s_axil_rvalid``, ``s_axil_rready``.
    """

    def __init__(self, top: SystemTop):
        if not isinstance(top, SystemTop):
            raise TypeError(f"top must be a SystemTop, not {top!r}")
        if top.debug and top.dbg_cmd_layout["data"].shape.width > 32:
            raise ValueError(
                f"the chip's command data is {top.dbg_cmd_layout['data'].shape.width} bits "
                f"wide; CMD_DATA and CMD_RESULT carry at most 32"
            )
        self.top = top
        self.input_framer = InputFramer(top.plan)
        self.output_framer = OutputFramer(top.plan)
        self.registers = AxiLiteRegisters(
            top.plan,
            counters=top.counters,
            cmd_layout=top.dbg_cmd_layout if top.debug else None,
            rsp_layout=top.dbg_rsp_layout if top.debug else None,
        )
        members = {
            "aclk": In(1),
            "aresetn": In(1),
            "s_axis_tdata": In(WORD_BITS),
            "s_axis_tvalid": In(1),
            "s_axis_tready": Out(1),
            "s_axis_tlast": In(1),
            "s_axis_tuser": In(len(InFlag)),
            "m_axis_tdata": Out(WORD_BITS),
            "m_axis_tvalid": Out(1),
            "m_axis_tready": In(1),
            "m_axis_tlast": Out(1),
        }
        for name, member in _axil_members(AxiLiteRegisters.ADDR_BITS):
            members[f"s_axil_{name}"] = member
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        # The parts are built on "sync"; here it is renamed to a local domain of aclk, so an
        # AxiSystem also sits inside an Amaranth design that has a "sync" domain of its own.
        m.domains.axi = axi = ClockDomain("axi", local=True)
        m.d.comb += [axi.clk.eq(self.aclk), axi.rst.eq(~self.aresetn)]
        on_aclk = DomainRenamer("axi")
        top, infr, outfr, regs = self.top, self.input_framer, self.output_framer, self.registers
        soft = regs.soft_reset
        m.submodules.chip = on_aclk(ResetInserter(soft)(top))
        m.submodules.input_framer = on_aclk(ResetInserter(soft)(infr))
        m.submodules.output_framer = on_aclk(ResetInserter(soft)(outfr))
        m.submodules.registers = on_aclk(regs)

        # ---- Streams.
        m.d.comb += [
            infr.i.payload.data.eq(self.s_axis_tdata),
            infr.i.payload.last.eq(self.s_axis_tlast),
            infr.i.payload.user.eq(self.s_axis_tuser),
            infr.i.valid.eq(self.s_axis_tvalid),
            self.s_axis_tready.eq(infr.i.ready),
            infr.enable.eq(regs.step_enable),
            self.m_axis_tdata.eq(outfr.o.payload.data),
            self.m_axis_tlast.eq(outfr.o.payload.last),
            self.m_axis_tvalid.eq(outfr.o.valid),
            outfr.o.ready.eq(self.m_axis_tready),
        ]
        wiring.connect(m, infr.o, top.host_in)
        wiring.connect(m, top.host_out, outfr.i)

        # ---- Register bank.
        for name, member in _axil_members(regs.ADDR_BITS):
            port = getattr(self, f"s_axil_{name}")
            if member.flow == In:
                m.d.comb += getattr(regs, name).eq(port)
            else:
                m.d.comb += port.eq(getattr(regs, name))
        n = top.plan.n_cores
        invalid_any = _any([top.invalid[c] != 0 for c in range(n)])
        dropped_input = (infr.dropped_address != 0) | (infr.dropped_value != 0)
        m.d.comb += [
            regs.status.eq(
                top.overflow.any()
                | (top.tag_error.any() << 1)
                | (top.cmd_error.any() << 2)
                | ((top.router_drops != 0) << 3)
                | (invalid_any << 4)
                | (dropped_input << 5)
            ),
            regs.dropped_address.eq(infr.dropped_address),
            regs.dropped_value.eq(infr.dropped_value),
            regs.router_drops.eq(top.router_drops),
            regs.steps_out.eq(outfr.steps),
        ]
        select = regs.core_select
        with m.Switch(select):
            for c in range(n):
                with m.Case(c):
                    m.d.comb += [
                        regs.core_invalid.eq(top.invalid[c]),
                        regs.core_eos_dropped.eq(top.eos_dropped[c]),
                        regs.core_flags.eq(
                            top.overflow[c] | (top.tag_error[c] << 1) | (top.cmd_error[c] << 2)
                        ),
                    ]
        if top.counters:
            for name in ("host_words_in", "host_words_out", "router_hops", "cycles"):
                m.d.comb += getattr(regs, name).eq(getattr(top, name))
        if top.debug:
            wiring.connect(m, regs.cmd, top.dbg_cmd)
            wiring.connect(m, top.dbg_rsp, regs.rsp)
        return m
