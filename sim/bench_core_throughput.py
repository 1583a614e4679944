"""cocotb bench: synaptic-operation throughput of a dense :class:`neurohw.hw.core.NeuronCore`
under a saturating input stream (``spikes_in`` and ``step`` always valid, every sink always
ready).

Test data (made by ``benchmarks/bench_core_throughput.py``):

* ``ports``: ``NeuronCore.port_description()``;
* ``n_neurons``, ``lanes``;
* ``events``: per step, the axon addresses to send; ``step`` is offered from the start of the
  step's events, so the core takes it as soon as its event pipeline is empty;
* ``expected_spikes``: per step, the reference model's spike count per neuron (checked).

Per step the bench records, in clock cycles (one sample per clock, after the rising edge):

* ``first_event``: the cycle in which the first event is transferred;
* ``last_accumulate``: the last cycle in which the read-modify-write stage writes an
  accumulator (the core's ``bp_valid`` register is that write enable delayed by one cycle);
* ``accumulate_cycles``: cycles with an accumulator write;
* ``step_accept``: the cycle of the ``step`` transfer; ``done``: the cycle of the ``done``
  transfer.

and writes them to ``throughput.json`` in the build directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge, with_timeout

from neurohw.sim.lib.fields import field_value
from neurohw.sim.lib.streams import StreamSink, StreamSource
from neurohw.sim.lib.tb import TB
from neurohw.sim.lib.testdata import load_test_data

CLOCK_NS = 10


class Recorder:
    """Samples the handshakes and the accumulator write enable once per clock."""

    def __init__(self, dut, clk):
        self.dut, self.clk = dut, clk
        self.cycle = 0
        self.event_cycles: list[int] = []
        self.acc_cycles: list[int] = []  # cycles with an accumulator write
        self.step_cycles: list[int] = []
        self.done_cycles: list[int] = []
        self.spike_cycles: list[int] = []
        self.bp_valid = dut.bp_valid  # internal (Verilator --public-flat-rw)
        cocotb.start_soon(self._run())

    async def _run(self):
        dut = self.dut
        while True:
            await RisingEdge(self.clk)
            await ReadOnly()
            self.cycle += 1
            if dut.rst.value == 1:
                continue
            if dut.spikes_in__valid.value == 1 and dut.spikes_in__ready.value == 1:
                self.event_cycles.append(self.cycle)
            if dut.step__valid.value == 1 and dut.step__ready.value == 1:
                self.step_cycles.append(self.cycle)
            if dut.done__valid.value == 1 and dut.done__ready.value == 1:
                self.done_cycles.append(self.cycle)
            if dut.spikes_out__valid.value == 1 and dut.spikes_out__ready.value == 1:
                self.spike_cycles.append(self.cycle)
            if self.bp_valid.value == 1:
                # bp_valid is the write enable of the previous cycle.
                self.acc_cycles.append(self.cycle - 1)


@cocotb.test()
async def throughput(dut):
    data = load_test_data()
    ports = data["ports"]
    n_neurons = data["n_neurons"]
    tb = TB(dut, clock_period_ns=CLOCK_NS)
    events = StreamSource(dut, "spikes_in", tb.clk, reset=tb.rst, idle_probability=0.0)
    step = StreamSource(dut, "step", tb.clk, reset=tb.rst, idle_probability=0.0)
    StreamSource(dut, "cmd", tb.clk, reset=tb.rst, idle_probability=0.0)
    spikes = StreamSink(dut, "spikes_out", tb.clk, reset=tb.rst)
    done = StreamSink(dut, "done", tb.clk, reset=tb.rst)
    StreamSink(dut, "rsp", tb.clk, reset=tb.rst)
    rec = Recorder(dut, tb.clk)
    await tb.reset()

    results = []
    spikes_seen = 0
    for t, step_events in enumerate(data["events"]):
        n_events = len(rec.event_cycles)
        n_acc = len(rec.acc_cycles)
        events.send(step_events)
        step.send([0])  # offered at once: taken when the event pipeline is empty
        budget = (len(step_events) * n_neurons + 4 * n_neurons + 1000) * CLOCK_NS
        await with_timeout(done.receive(t + 1), budget, "ns")
        await RisingEdge(tb.clk)
        await ReadOnly()
        ev = rec.event_cycles[n_events:]
        acc = rec.acc_cycles[n_acc:]
        assert len(ev) == len(step_events), f"step {t}: {len(ev)} events transferred"
        step_accept, done_cycle = rec.step_cycles[t], rec.done_cycles[t]
        assert acc and acc[-1] < step_accept, f"step {t}: accumulate after step"
        results.append(
            {
                "step": t,
                "events": len(ev),
                "first_event": ev[0],
                "last_event": ev[-1],
                "last_accumulate": acc[-1],
                "accumulate_cycles": len(acc),
                "step_accept": step_accept,
                "done": done_cycle,
            }
        )
        # The reference's spike counts (a sanity check that the stream did real work).
        got = {}
        for word in spikes.received[spikes_seen:]:
            got[field_value(word, ports["spikes_out"]["neuron"])] = field_value(
                word, ports["spikes_out"]["count"]
            )
        spikes_seen = len(spikes.received)
        want = {n: c for n, c in enumerate(data["expected_spikes"][t]) if c}
        assert got == want, f"step {t}: spikes {got} != reference {want}"
        results[-1]["spikes"] = len(got)
        tb.log.info("step %d: %s", t, results[-1])

    out = Path(os.environ.get("THROUGHPUT_RESULTS", "throughput.json"))
    out.write_text(json.dumps(results, indent=2) + "\n")
