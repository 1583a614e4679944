"""cocotb bench: clock cycles of every step of a :class:`neurohw.hw.core.NeuronCore` (static,
with synaptic delays or with on-chip STDP) under a saturating input stream, with the spikes of
every step and the weights after the run checked against the system model.

Used by ``benchmarks/bench_learning.py`` to measure what learning and delays cost in clock
cycles. Only the core's ports are observed (no internal signal), so the same bench measures
every configuration the same way.

Test data (made by ``benchmarks/bench_learning.py``):

* ``ports``: ``NeuronCore.port_description()``;
* ``events``: per step, the axon addresses to send. ``spikes_in`` and ``step`` are offered
  together and stay valid (the core takes ``step`` once its event pipeline is empty); every
  sink is always ready;
* ``expected_spikes``: per step, the model's spike count per neuron (checked every step);
* ``weight_reads`` (optional): ``[target, neuron, axon, value]`` read over ``cmd`` after the
  last step and compared (the learned weights).

Per step the bench records, in clock cycles counted from the release of reset:

* ``first_event`` / ``last_event``: the cycles of the first and last ``spikes_in`` transfer
  (``None`` without events);
* ``step_accept``: the cycle of the ``step`` transfer; ``done``: the cycle of the ``done``
  transfer;
* ``spikes``: the neurons that spiked (``spikes_out`` transfers).

and ``ready_after_reset``: the first cycle in which ``spikes_in.ready`` is high (the reset's
clearing walk). Everything goes to ``cycles.json`` in the build directory (``CYCLES_RESULTS``
overrides the path).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge, with_timeout

from neurohw.sim.lib.fields import field_value, pack_fields
from neurohw.sim.lib.streams import StreamSink, StreamSource
from neurohw.sim.lib.tb import TB
from neurohw.sim.lib.testdata import load_test_data

CLOCK_NS = 10


class CycleTB(TB):
    """Clock, reset, the core's streams; transfer cycles come from the streams' callbacks."""

    def __init__(self, dut):
        super().__init__(dut, clock_period_ns=CLOCK_NS)
        self.event_cycles: list[int] = []
        self.step_cycles: list[int] = []
        self.done_cycles: list[int] = []
        self.spike_words: list[tuple[int, int]] = []  # (cycle, word)
        self.events = StreamSource(
            dut,
            "spikes_in",
            self.clk,
            reset=self.rst,
            on_transfer=lambda _: self.event_cycles.append(self.elapsed_cycles),
        )
        self.step = StreamSource(
            dut,
            "step",
            self.clk,
            reset=self.rst,
            on_transfer=lambda _: self.step_cycles.append(self.elapsed_cycles),
        )
        self.cmd = StreamSource(dut, "cmd", self.clk, reset=self.rst)
        self.spikes = StreamSink(
            dut,
            "spikes_out",
            self.clk,
            reset=self.rst,
            on_transfer=lambda w: self.spike_words.append((self.elapsed_cycles, w)),
        )
        self.done = StreamSink(
            dut,
            "done",
            self.clk,
            reset=self.rst,
            on_transfer=lambda _: self.done_cycles.append(self.elapsed_cycles),
        )
        self.rsp = StreamSink(dut, "rsp", self.clk, reset=self.rst)


@cocotb.test()
async def step_cycles(dut):
    data = load_test_data()
    ports = data["ports"]
    n_neurons = len(data["expected_spikes"][0]) if data["expected_spikes"] else 0
    tb = CycleTB(dut)
    await tb.reset()

    # The reset's clearing walk: the first cycle in which the core takes events.
    ready_after_reset = None
    for _ in range(1 << 16):
        await ReadOnly()
        if dut.spikes_in__ready.value == 1:
            ready_after_reset = tb.elapsed_cycles
            break
        await RisingEdge(tb.clk)
    assert ready_after_reset is not None, "spikes_in never became ready after reset"
    await RisingEdge(tb.clk)

    n_axons = len(ports["event_cycles"])
    results = []
    for t, step_events in enumerate(data["events"]):
        n_ev, n_sp = len(tb.event_cycles), len(tb.spike_words)
        tb.events.send(step_events)
        tb.step.send([0])
        # Events (one row each), sweep, potentiation of every neuron's column, slack.
        budget = (
            (len(step_events) + 4) * max(ports["event_cycles"] or [1])
            + n_neurons * (n_axons + 8)
            + 4 * n_neurons
            + 2000
        )
        await with_timeout(tb.done.receive(t + 1), budget * CLOCK_NS, "ns")
        await RisingEdge(tb.clk)
        await ReadOnly()
        ev = tb.event_cycles[n_ev:]
        assert len(ev) == len(step_events), f"step {t}: {len(ev)} events transferred"
        got = {}
        for _, word in tb.spike_words[n_sp:]:
            neuron = field_value(word, ports["spikes_out"]["neuron"])
            assert neuron not in got, f"step {t}: neuron {neuron} spiked twice"
            got[neuron] = field_value(word, ports["spikes_out"]["count"])
        want = {n: c for n, c in enumerate(data["expected_spikes"][t]) if c}
        assert got == want, f"step {t}: spikes {got} != model {want}"
        results.append(
            {
                "step": t,
                "events": len(ev),
                "first_event": ev[0] if ev else None,
                "last_event": ev[-1] if ev else None,
                "step_accept": tb.step_cycles[t],
                "done": tb.done_cycles[t],
                "spikes": len(got),
            }
        )
        await RisingEdge(tb.clk)

    # The learned weights, over cmd.
    reads = data.get("weight_reads") or []
    if reads:
        layout = ports["cmd"]
        tb.cmd.send(
            pack_fields(
                {"write": 0, "target": target, "neuron": neuron, "axon": axon, "data": 0}, layout
            )
            for target, neuron, axon, _ in reads
        )
        words = await with_timeout(tb.rsp.receive(len(reads)), 40 * len(reads) * CLOCK_NS, "ns")
        wrong = []
        for (target, neuron, axon, want), word in zip(reads, words):
            value = field_value(word, ports["rsp"]["data"])
            error = field_value(word, ports["rsp"]["error"])
            if error or value != want:
                wrong.append((target, neuron, axon, want, value, error))
        assert not wrong, (
            f"{len(wrong)} of {len(reads)} weights differ from the model "
            f"(target, neuron, axon, expected, actual, error): {wrong[:8]}"
        )

    out = Path(os.environ.get("CYCLES_RESULTS", "cycles.json"))
    out.write_text(
        json.dumps(
            {
                "ready_after_reset": ready_after_reset,
                "steps": results,
                "weights_checked": len(reads),
            },
            indent=1,
        )
        + "\n"
    )
