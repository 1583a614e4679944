"""cocotb bench for the spike encoders (:mod:`neurohw.hw.encoders`, the population encoder
included): streams random values into ``i`` and compares every event word on ``o`` with the model's
(``StreamEncoder.expected_words``), in order, under random idle cycles and back-pressure.

Test data (made by ``tests/test_encoders_sim.py``):

* ``values``: the input words, step by step, channel by channel;
* ``expected``: the output words (spikes in ascending line order, then the step's barrier);
* ``width``: the output word width (to decode mismatches), ``fields``: ``{name: [offset,
  width]}`` of the event format;
* ``clocks_per_value`` (optional, default 1): clocks the encoder spends on one value (``N`` for
  the population encoder, one per neuron), for the time budget;
* traffic: ``seed``, ``idle_probability``, ``backpressure_probability``, ``stall_probability``,
  ``stall_cycles``.
"""

from __future__ import annotations

import cocotb
from cocotb.triggers import with_timeout

from neurohw.sim.lib.streams import StreamProtocolChecker, StreamSink, StreamSource
from neurohw.sim.lib.tb import TB
from neurohw.sim.lib.testdata import load_test_data

CLOCK_NS = 10


def _describe(word, fields):
    return (
        "{"
        + ", ".join(
            f"{name}={(word >> offset) & ((1 << width) - 1)}"
            for name, (offset, width) in fields.items()
        )
        + "}"
    )


@cocotb.test()
async def encode_random_values(dut):
    data = load_test_data()
    tb = TB(dut, clock_period_ns=CLOCK_NS)
    seed = int(data.get("seed", 0))
    source = StreamSource(
        dut,
        "i",
        tb.clk,
        reset=tb.rst,
        idle_probability=float(data.get("idle_probability", 0.0)),
        seed=seed,
    )
    sink = StreamSink(
        dut,
        "o",
        tb.clk,
        reset=tb.rst,
        backpressure_probability=float(data.get("backpressure_probability", 0.0)),
        stall_probability=float(data.get("stall_probability", 0.0)),
        stall_cycles=int(data.get("stall_cycles", 0)),
        seed=seed + 1,
    )
    checker = StreamProtocolChecker(dut, "o", tb.clk, reset=tb.rst)
    await tb.reset()

    values, expected = data["values"], data["expected"]
    source.send(values)
    slack = (
        4
        + 8 * float(data.get("backpressure_probability", 0.0))
        + 4 * float(data.get("idle_probability", 0.0))
    )
    per_value = int(data.get("clocks_per_value", 1))
    budget = (
        int(
            (len(values) * per_value + len(expected)) * slack
            + 200
            + 4 * int(data.get("stall_cycles", 0)) * len(expected)
        )
        * CLOCK_NS
    )
    received = await with_timeout(sink.receive(len(expected)), budget, "ns")
    await with_timeout(source.wait_idle(), budget, "ns")
    await tb.cycles(20)
    fields = data["fields"]
    for index, (got, want) in enumerate(zip(received, expected)):
        assert got == want, (
            f"word {index}: got {_describe(got, fields)}, expected {_describe(want, fields)}"
        )
    assert len(sink.received) == len(expected), (
        f"{len(sink.received) - len(expected)} extra word(s) after the last expected one, "
        f"first {_describe(sink.received[len(expected)], fields)}"
    )
    assert checker.transfer_count == len(expected)
    dut._log.info(
        "%d values -> %d words (%d spikes) match the model",
        len(values),
        len(expected),
        len(expected) - data["steps"],
    )
