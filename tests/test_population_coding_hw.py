"""The population encoder in hardware (:class:`neurohw.hw.encoders.PopulationEncoder`): its
construction, its model against :mod:`neurohw.encoding.population`, amaranth.sim runs on random
codes and random stream traffic, and cocotb runs (``sim/bench_encoders.py``) on Icarus and
Verilator; every output event is compared with the model (``expected_words``)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from amaranth.hdl import unsigned
from amaranth.lib import stream
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from neurohw.encoding.population import PopulationCode, cosine_code, gaussian_code
from neurohw.hw.encoders import PopulationEncoder
from neurohw.hw.event import event_layout
from neurohw.routing import EventFormat, EventKind
from neurohw.sim.runner import run_cocotb

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


# ---------------------------------------------------------------------------------------------
# Construction


def test_init():
    code = gaussian_code(16)  # 8-bit codes, 15 levels, 45-word table
    enc = PopulationEncoder(code, 3)
    assert enc.out_lines == 48 and enc.n_neurons == 16 and enc.value_width == 8
    assert enc.level_width == 4 and enc.acc_width == 6
    assert enc.fmt == EventFormat(key_width=6, step_width=8, payload_width=4)
    assert enc.signature.members["i"] == In(stream.Signature(unsigned(8)))
    assert enc.signature.members["o"] == Out(stream.Signature(event_layout(enc.fmt)))
    rate = PopulationEncoder(code, 3, mode="rate")
    assert rate.fmt == EventFormat(key_width=6, step_width=8)
    fmt = EventFormat(key_width=10, step_width=4, payload_width=5)
    enc = PopulationEncoder(
        cosine_code(5, code_bits=4, max_level=7),
        2,
        fmt=fmt,
        key_base=100,
        barrier_key=1023,
        first_tag=-1,
    )
    assert enc.fmt is fmt and enc.first_tag == 15 and enc.out_lines == 10


def test_init_wrong_code_and_mode():
    with pytest.raises(
        TypeError,
        match=r"^code must be a PopulationCode \(gaussian_code, "
        r"cosine_code\), not 3$",
    ):
        PopulationEncoder(3)
    with pytest.raises(ValueError, match=r"^mode must be one of 'count', 'rate', not 'x'$"):
        PopulationEncoder(gaussian_code(4), mode="x")


def test_init_wrong_channels():
    with pytest.raises(ValueError, match=r"^channels must be an integer in 1\.\.65536, not 0$"):
        PopulationEncoder(gaussian_code(4), 0)
    with pytest.raises(
        ValueError,
        match=r"^channels must be an integer in 1\.\.65536, "
        r"not 2\.0$",
    ):
        PopulationEncoder(gaussian_code(4), 2.0)


def test_init_wrong_format_and_keys():
    code = gaussian_code(4, code_bits=4, max_level=15)
    with pytest.raises(
        ValueError,
        match=r"^count mode sends levels up to max_level=15 in the "
        r"payload: the format needs payload_width>=4, not 2$",
    ):
        PopulationEncoder(code, fmt=EventFormat(key_width=8, payload_width=2))
    PopulationEncoder(code, mode="rate", fmt=EventFormat(key_width=8))  # no payload needed
    with pytest.raises(
        ValueError,
        match=r"^key 16 \(key_base=9 \+ 8 lines, barrier_key=0\) "
        r"does not fit the format's key_width=4$",
    ):
        PopulationEncoder(code, 2, mode="rate", fmt=EventFormat(key_width=4), key_base=9)
    with pytest.raises(TypeError, match=r"^event format must be an EventFormat, not 8$"):
        PopulationEncoder(code, fmt=8)
    with pytest.raises(ValueError, match=r"^key_base must be an integer at least 0, not -1$"):
        PopulationEncoder(code, key_base=-1)
    with pytest.raises(
        ValueError,
        match=r"^barrier_key must be an integer at least 0, "
        r"not -2$",
    ):
        PopulationEncoder(code, barrier_key=-2)
    with pytest.raises(ValueError, match=r"^first_tag must be an integer, not 'a'$"):
        PopulationEncoder(code, first_tag="a")


def test_model_wrong_shape():
    enc = PopulationEncoder(gaussian_code(4, code_bits=4), 2)
    with pytest.raises(ValueError, match=r"^values must have shape \(steps, 2\), not \(3,\)$"):
        enc.model(np.zeros(3, dtype=int))


# ---------------------------------------------------------------------------------------------
# The model is the population code's


@pytest.mark.parametrize("mode", ["count", "rate"])
def test_model_is_the_population_code(mode):
    """Codes held over the steps: exactly ``PopulationCode.encode``; lines are c * N + k."""
    rng = np.random.default_rng(3)
    for code in (
        gaussian_code(16),
        cosine_code(7, code_bits=5, max_level=9),
        gaussian_code(3, code_bits=3, max_level=1, sigma=0.5),
    ):
        enc = PopulationEncoder(code, 4, mode=mode)
        u = rng.integers(0, code.n_codes, size=4)
        steps = int(rng.integers(1, 40))
        held = np.broadcast_to(u, (steps, 4))
        want = code.encode(u, steps, mode).reshape(steps, 4 * code.n_neurons)
        assert np.array_equal(enc.model(held), want)


def test_model_changing_codes_rate_mode():
    """A code that changes per step changes the accumulator's increment only: the spikes of a
    line equal the rate code's from the step its level settles, given the accumulator then."""
    code = gaussian_code(4, code_bits=4, max_level=5)
    enc = PopulationEncoder(code, 1, mode="rate")
    values = np.array([[0]] * 3 + [[15]] * 5)
    q = code.levels(values[:, 0])
    spikes = enc.model(values)
    # Total over the run is round_half_up(sum q / L) (the accumulator starts at L).
    assert np.array_equal(spikes.sum(axis=0), (2 * q.sum(axis=0) + 5) // 10)


# ---------------------------------------------------------------------------------------------
# amaranth.sim


def random_population_encoder(rng, *, channels=None):
    kind = rng.integers(0, 2)
    n = int(rng.choice([2, 3, 5, 8, 16]))
    bits = int(rng.integers(2, 9))
    max_level = int(rng.choice([1, 3, 7, 15, 31]))
    spacing = ((1 << bits) - 1) / (n - 1)
    code = (
        gaussian_code(
            n, code_bits=bits, max_level=max_level, sigma=float(spacing * rng.uniform(0.4, 1.5))
        )
        if kind
        else cosine_code(
            n, code_bits=bits, max_level=max_level, width=float(spacing * rng.uniform(0.6, 2.5))
        )
    )
    channels = int(rng.choice([1, 2, 3])) if channels is None else channels
    mode = str(rng.choice(["count", "rate"]))
    kwargs = {}
    if rng.integers(0, 2):
        payload = (
            max_level.bit_length() + int(rng.integers(0, 3))
            if mode == "count"
            else int(rng.integers(0, 3))
        )
        kwargs = {
            "fmt": EventFormat(
                key_width=10, step_width=int(rng.integers(2, 9)), payload_width=payload
            ),
            "key_base": int(rng.integers(0, 300)),
            "barrier_key": int(rng.integers(0, 1024)),
            "first_tag": int(rng.integers(-2, 5)),
        }
    return PopulationEncoder(code, channels, mode=mode, **kwargs)


def random_codes(enc, steps, rng):
    """Codes held for a few steps (a sampled sensor), sometimes jumping, with the ends of the
    range (where the tuning curves are cut off) over-represented."""
    top = enc.code.n_codes - 1
    values = np.empty((steps, enc.channels), dtype=np.int64)
    for c in range(enc.channels):
        t = 0
        while t < steps:
            hold = int(rng.integers(1, 12))
            u = int(rng.choice([0, top, int(rng.integers(0, top + 1))], p=[0.1, 0.1, 0.8]))
            values[t : t + hold, c] = u
            t += hold
    return values


def simulate_population(enc, values, *, idle=0.3, backpressure=0.3, seed=0):
    rng_in, rng_out = random.Random(seed), random.Random(seed + 1)
    flat = [int(v) for v in np.asarray(values).reshape(-1)]
    expected_count = len(enc.expected_words(values))
    got = []
    sim = Simulator(enc)
    sim.add_clock(1e-8)

    async def producer(ctx):
        for value in flat:
            while rng_in.random() < idle:
                await ctx.tick()
            ctx.set(enc.i.valid, 1)
            ctx.set(enc.i.payload, value)
            await ctx.tick().until(enc.i.ready)
            ctx.set(enc.i.valid, 0)

    async def consumer(ctx):
        while len(got) < expected_count + 2:
            ready = rng_out.random() >= backpressure
            ctx.set(enc.o.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(enc.o.valid, enc.o.payload.as_value())
            if ready and valid:
                got.append(payload)

    sim.add_testbench(producer)
    sim.add_testbench(consumer, background=True)
    clocks = (len(flat) * (enc.n_neurons + 2) + expected_count + 50) * 4
    sim.run_until(1e-8 * clocks)
    return got


@pytest.mark.parametrize("seed", range(6))
def test_sim(seed):
    rng = np.random.default_rng(500 + seed)
    enc = random_population_encoder(rng)
    values = random_codes(enc, 20, rng)
    got = simulate_population(
        enc,
        values,
        idle=float(rng.choice([0, 0.4])),
        backpressure=float(rng.choice([0, 0.5])),
        seed=seed,
    )
    expected = enc.expected_words(values)
    assert [enc.fmt.unpack(w) for w in got] == [enc.fmt.unpack(w) for w in expected]


def test_sim_hand_example():
    """4 neurons on 3-bit codes (centres 0, 2, 5, 7), table (3, 2, 1): code 1 gives levels
    2, 2, 0, 0 (count mode: payload 2 on lines 0 and 1)."""
    code = PopulationCode(4, 3, 3, (3, 2, 1))
    assert code.centres == (0, 2, 5, 7)
    enc = PopulationEncoder(
        code, 1, fmt=EventFormat(key_width=4, step_width=4, payload_width=2), barrier_key=15
    )
    words = [enc.fmt.unpack(w) for w in simulate_population(enc, np.array([[1], [6]]))]
    assert [(e.kind, e.key, e.step, e.payload) for e in words] == [
        (EventKind.SPIKE, 0, 0, 2),
        (EventKind.SPIKE, 1, 0, 2),
        (EventKind.BARRIER, 15, 0, 0),
        (EventKind.SPIKE, 2, 1, 2),
        (EventKind.SPIKE, 3, 1, 2),
        (EventKind.BARRIER, 15, 1, 0),
    ]


# ---------------------------------------------------------------------------------------------
# cocotb on Icarus and Verilator (sim/bench_encoders.py)


def run_cocotb_case(seed, steps, simulator, build_dir, *, channels, mode):
    rng = np.random.default_rng(2000 + 31 * seed)
    enc = random_population_encoder(rng, channels=channels)
    if enc.mode != mode:
        enc = PopulationEncoder(enc.code, channels, mode=mode)
    values = random_codes(enc, steps, rng)
    expected = enc.expected_words(values)
    fields = {name: [enc.fmt.offsets[name], width] for name, width in enc.fmt.fields}
    test_data = {
        "values": values.reshape(-1),
        "expected": expected,
        "steps": steps,
        "fields": fields,
        "seed": seed,
        "clocks_per_value": enc.n_neurons,
        "idle_probability": float(rng.choice([0.0, 0.3])),
        "backpressure_probability": float(rng.choice([0.0, 0.3, 0.6])),
        "stall_probability": float(rng.choice([0.0, 0.02])),
        "stall_cycles": int(rng.integers(1, 30)),
    }
    assert len(expected) >= steps + steps // 10, "too few spikes to test anything"
    run_cocotb(
        enc,
        toplevel="population_encoder",
        test_module="bench_encoders",
        simulator=simulator,
        build_dir=build_dir,
        test_data=test_data,
    )
    return len(expected)


@pytest.mark.sim
@pytest.mark.parametrize("mode", ["count", "rate"])
def test_population_encoder_sim(mode, simulator, sim_build_dir):
    run_cocotb_case(0, 40, simulator, sim_build_dir, channels=3, mode=mode)


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 4))
@pytest.mark.parametrize("mode", ["count", "rate"])
def test_population_encoder_sim_long(mode, seed, simulator, sim_build_dir):
    run_cocotb_case(seed, 300, simulator, sim_build_dir, channels=2 + 2 * seed, mode=mode)
