"""Encoders: the integer models (LFSR Bernoulli rate, latency, delta) and their hardware in
amaranth.sim, every output event compared with the model on random inputs and random stream
traffic. The cocotb runs on Icarus and Verilator are in ``tests/test_encoders_sim.py``."""

from __future__ import annotations

import random

import numpy as np
import pytest
from amaranth.hdl import unsigned
from amaranth.lib import stream
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from neurohw.encoding import (
    LFSR_MASKS,
    bernoulli_code,
    delta_code,
    latency,
    latency_code,
    lfsr_advance,
    lfsr_draws,
    lfsr_is_maximal,
    lfsr_mask,
    lfsr_seeds,
    lfsr_shift,
    rate_code,
)
from neurohw.hw.encoders import DeltaEncoder, LatencyEncoder, RateEncoder, lfsr_unrolled
from neurohw.hw.event import event_layout
from neurohw.routing import EventFormat, EventKind

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


# ---------------------------------------------------------------------------------------------
# LFSR


@pytest.mark.parametrize("width", sorted(LFSR_MASKS))
def test_lfsr_masks_are_maximal(width):
    assert lfsr_is_maximal(width, LFSR_MASKS[width])
    assert LFSR_MASKS[width] >> (width - 1) == 1


def test_lfsr_maximal_check_agrees_with_brute_force():
    for width in range(3, 13):
        state, period = 1, 0
        while True:
            state = lfsr_shift(state, LFSR_MASKS[width])
            period += 1
            if state == 1:
                break
        assert period == (1 << width) - 1
    # Non-maximal masks are told apart: x^4 + 1 style (period 4) and a reducible one.
    assert not lfsr_is_maximal(4, 0x8)
    assert not lfsr_is_maximal(8, 0x80)
    assert not lfsr_is_maximal(16, 0x8001)


def test_lfsr_unrolled_matches_shifts():
    rng = np.random.default_rng(0)
    for width in (4, 8, 16, 24, 32):
        taps = lfsr_unrolled(width, LFSR_MASKS[width], width)
        for state in rng.integers(1, 1 << width, size=50, dtype=np.uint64):
            expected = lfsr_advance(int(state), width)
            got = sum(
                (bin(int(state) & inputs).count("1") & 1) << i for i, inputs in enumerate(taps)
            )
            assert got == expected


def test_lfsr_seeds():
    seeds = lfsr_seeds(7, 1000, 8)
    assert seeds.dtype == np.uint64 and (seeds > 0).all() and (seeds < 256).all()
    assert np.array_equal(seeds, lfsr_seeds(7, 1000, 8))
    assert not np.array_equal(seeds, lfsr_seeds(8, 1000, 8))
    assert len(set(lfsr_seeds(1, 64, 16).tolist())) == 64
    # The documented derivation, channel 0 of seed 0: SplitMix64 of the golden ratio constant.
    assert lfsr_seeds(0, 1, 32)[0] == 0xE220A8397B1DCDAF & 0xFFFFFFFF


def test_lfsr_errors():
    with pytest.raises(ValueError, match=r"^lfsr_width must be one of \[3, 4, .*32\], not 25$"):
        lfsr_mask(25)
    with pytest.raises(ValueError, match=r"^seed must be a non-negative integer, not -1$"):
        lfsr_seeds(-1, 4, 16)
    with pytest.raises(ValueError, match=r"^channels must be an integer of at least 1, not 0$"):
        lfsr_seeds(1, 0, 16)


# ---------------------------------------------------------------------------------------------
# Bernoulli rate code


def test_bernoulli_full_period_is_exact():
    """Over one LFSR period every non-zero state occurs once, so value x spikes exactly
    #{r < x} times: r = 0 occurs 2**(W-V) - 1 times, every other r 2**(W-V) times."""
    width, v = 8, 4
    period = (1 << width) - 1
    values = np.tile(np.arange(16), (period, 1))
    spikes = bernoulli_code(values, value_width=v, lfsr_width=width, seed=3)
    per = 1 << (width - v)
    expected = [0] + [x * per - 1 for x in range(1, 16)]
    assert spikes.sum(axis=0).tolist() == expected


def test_bernoulli_statistics_and_batch():
    rng = np.random.default_rng(1)
    values = np.broadcast_to(rng.integers(0, 256, size=32), (4000, 32))
    spikes = bernoulli_code(values, value_width=8, seed=5)
    assert spikes.shape == values.shape and set(np.unique(spikes)) <= {0, 1}
    assert np.abs(spikes.mean(axis=0) - values[0] / 256).max() < 0.03
    assert spikes[:, values[0] == 0].sum() == 0
    batch = np.stack([values[:50], values[:50]], axis=1)
    both = bernoulli_code(batch, value_width=8, seed=5)
    assert np.array_equal(both[:, 0], both[:, 1]) and np.array_equal(both[:, 0], spikes[:50])


def test_bernoulli_draws_definition():
    draws = lfsr_draws(3, 2, lfsr_width=16, seed=9, value_width=8)
    state = [int(s) for s in lfsr_seeds(9, 2, 16)]
    for t in range(3):
        state = [lfsr_advance(s, 16) for s in state]
        assert draws[t].tolist() == [s & 0xFF for s in state]
    spikes = bernoulli_code(np.full((3, 2), 100), value_width=8, seed=9)
    assert np.array_equal(spikes, (100 > draws).astype(int))


def test_bernoulli_differs_from_deterministic_rate_code():
    # Same mean rate, different (documented) codes.
    values = np.full((256, 1), 128)
    det = rate_code(np.full(1, 8), 16, 256)
    ber = bernoulli_code(values, value_width=8, seed=2)
    assert det.sum() == 128 and abs(int(ber.sum()) - 128) < 30
    assert not np.array_equal(det, ber)


def test_bernoulli_errors():
    with pytest.raises(
        ValueError,
        match=r"^values must lie in 0\.\.255 \(value_width=8\), "
        r"not 256$",
    ):
        bernoulli_code(np.full((2, 2), 256), value_width=8)
    with pytest.raises(
        ValueError,
        match=r"^values must lie in 0\.\.255 \(value_width=8\), "
        r"not -1$",
    ):
        bernoulli_code(np.full((2, 2), -1), value_width=8)
    with pytest.raises(ValueError, match=r"^values must be integers, not dtype float64$"):
        bernoulli_code(np.zeros((2, 2)), value_width=8)
    with pytest.raises(
        ValueError,
        match=r"^values must have shape \(steps, channels\) or "
        r"\(steps, batch, channels\) with no empty axis, "
        r"not \(4,\)$",
    ):
        bernoulli_code(np.zeros(4, dtype=int), value_width=8)
    with pytest.raises(ValueError, match=r"^value_width=9 must not exceed lfsr_width=8$"):
        bernoulli_code(np.zeros((2, 2), dtype=int), value_width=9, lfsr_width=8)
    with pytest.raises(
        ValueError,
        match=r"^value_width must be an integer in 1\.\.32, "
        r"not 0$",
    ):
        bernoulli_code(np.zeros((2, 2), dtype=int), value_width=0)
    with pytest.raises(
        ValueError,
        match=r"^seeds must lie in 1\.\.255 \(lfsr_width=8\), "
        r"not \[0, 3\]$",
    ):
        bernoulli_code(np.zeros((2, 2), dtype=int), value_width=8, lfsr_width=8, seeds=[0, 3])
    with pytest.raises(
        ValueError,
        match=r"^seeds must be 2 integers \(one per channel\), "
        r"not \(3,\) of dtype int64$",
    ):
        bernoulli_code(np.zeros((2, 2), dtype=int), value_width=8, seeds=np.array([1, 2, 3]))


# ---------------------------------------------------------------------------------------------
# Latency code


def test_latency_mapping():
    assert latency([255, 0, 128, 1], value_width=8, window=10).tolist() == [0, 9, 4, 9]
    assert latency([15, 0], value_width=4, window=1).tolist() == [0, 0]


def test_latency_code_constant_values_fire_once_at_latency():
    values = np.repeat(np.arange(0, 64, 3)[np.newaxis], 3 * 7, axis=0)  # 3 windows of 7
    spikes = latency_code(values, value_width=6, window=7, threshold=2)
    lat = latency(values[0], value_width=6, window=7)
    for c, x in enumerate(values[0]):
        expected = [] if x < 2 else [w * 7 + lat[c] for w in range(3)]
        assert np.flatnonzero(spikes[:, c]).tolist() == expected


def test_latency_code_rising_value_fires_at_once_and_once():
    values = np.array([[0], [0], [0], [60], [63], [63], [0], [63]])
    spikes = latency_code(values, value_width=6, window=6)
    # window 0: steps 0..5, the value rises at step 3 (latency 0 <= position 3): fires at 3 only
    # window 1: steps 6, 7: 0 at step 6 (below threshold), 63 at step 7 (position 1 >= 0)
    assert np.flatnonzero(spikes[:, 0]).tolist() == [3, 7]


def test_latency_errors():
    with pytest.raises(ValueError, match=r"^window must be an integer in 1\.\.65536, not 0$"):
        latency_code(np.zeros((2, 2), dtype=int), value_width=4, window=0)
    with pytest.raises(ValueError, match=r"^threshold must be an integer in 0\.\.16, not 17$"):
        latency_code(np.zeros((2, 2), dtype=int), value_width=4, window=3, threshold=17)


# ---------------------------------------------------------------------------------------------
# Delta modulation


def test_delta_code_example():
    x = np.array([[0], [5], [12], [12], [3], [20]])
    on_off = delta_code(x, value_width=8, threshold=4)
    assert on_off[:, 0].tolist() == [0, 1, 1, 0, 0, 1]  # r: 0, 5, 12, 12, 3, 20
    assert on_off[:, 1].tolist() == [0, 0, 0, 0, 1, 0]
    tracked = delta_code(x, value_width=8, threshold=4, reference="threshold")
    assert tracked[:, 0].tolist() == [0, 1, 1, 1, 0, 1]  # r: 0, 4, 8, 12, 8, 12
    assert tracked[:, 1].tolist() == [0, 0, 0, 0, 1, 0]


@pytest.mark.parametrize("reference", ["value", "threshold"])
def test_delta_code_properties(reference):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, size=(200, 3, 5))
    out = delta_code(x, value_width=8, threshold=17, reference=reference, initial=128)
    assert out.shape == (200, 3, 10)
    assert not (out[..., 0::2] & out[..., 1::2]).any()
    # Tracking mode: the reference follows +/- threshold per spike from the initial value.
    if reference == "threshold":
        ref = 128 + 17 * np.cumsum(out[..., 0::2] - out[..., 1::2], axis=0)
        assert ref.min() >= 0 and ref.max() <= 255


def test_delta_errors():
    zeros = np.zeros((2, 2), dtype=int)
    with pytest.raises(ValueError, match=r"^threshold must be an integer in 1\.\.255, not 0$"):
        delta_code(zeros, value_width=8, threshold=0)
    with pytest.raises(
        ValueError,
        match=r"^reference must be one of 'value', 'threshold', "
        r"not 'both'$",
    ):
        delta_code(zeros, value_width=8, threshold=1, reference="both")
    with pytest.raises(ValueError, match=r"^initial must be an integer in 0\.\.15, not 16$"):
        delta_code(zeros, value_width=4, threshold=1, initial=16)


# ---------------------------------------------------------------------------------------------
# Hardware: construction


def test_init():
    enc = RateEncoder(10, 8, lfsr_width=16, seed=4)
    assert enc.fmt == EventFormat(key_width=4, step_width=8)
    assert enc.signature.members["i"] == In(stream.Signature(unsigned(8)))
    assert enc.signature.members["o"] == Out(stream.Signature(event_layout(enc.fmt)))
    assert enc.seeds == [int(s) for s in lfsr_seeds(4, 10, 16)]
    assert enc.out_lines == 10 and enc.state_width == 16
    lat = LatencyEncoder(3, 6, window=20, threshold=0)
    assert lat.out_lines == 3 and lat.state_width == 1 and lat.window == 20
    fmt = EventFormat(key_width=12, step_width=6, payload_width=3)
    delta = DeltaEncoder(
        5,
        10,
        threshold=7,
        reference="threshold",
        initial=512,
        fmt=fmt,
        key_base=100,
        barrier_key=4095,
        first_tag=-1,
    )
    assert delta.out_lines == 10 and delta.state_width == 10
    assert delta.first_tag == 63 and delta.fmt is fmt
    assert DeltaEncoder(5, 4).fmt.key_width == 4  # lines 0..9


def test_init_wrong_channels():
    with pytest.raises(ValueError, match=r"^channels must be an integer in 1\.\.65536, not 0$"):
        RateEncoder(0)
    with pytest.raises(
        ValueError,
        match=r"^channels must be an integer in 1\.\.65536, "
        r"not 2\.0$",
    ):
        LatencyEncoder(2.0)
    with pytest.raises(
        ValueError,
        match=r"^channels must be an integer in 1\.\.65536, "
        r"not True$",
    ):
        DeltaEncoder(True)


def test_init_wrong_value_width():
    with pytest.raises(ValueError, match=r"^value_width must be an integer in 1\.\.32, not 0$"):
        DeltaEncoder(2, 0)
    with pytest.raises(ValueError, match=r"^value_width=12 must not exceed lfsr_width=8$"):
        RateEncoder(2, 12, lfsr_width=8)


def test_init_wrong_lfsr():
    with pytest.raises(ValueError, match=r"^lfsr_width must be one of \[3, .*, 32\], not 2$"):
        RateEncoder(2, 2, lfsr_width=2)
    with pytest.raises(
        ValueError,
        match=r"^seeds must be 2 integers in 1\.\.255, "
        r"not \[1, 0\]$",
    ):
        RateEncoder(2, 4, lfsr_width=8, seeds=[1, 0])
    with pytest.raises(ValueError, match=r"^seed must be an integer at least 0, not -3$"):
        RateEncoder(2, 4, seed=-3)


def test_init_wrong_window_threshold_reference():
    with pytest.raises(
        ValueError,
        match=r"^window must be an integer in 1\.\.65536, "
        r"not 65537$",
    ):
        LatencyEncoder(2, 4, window=65537)
    with pytest.raises(ValueError, match=r"^threshold must be an integer in 0\.\.16, not -1$"):
        LatencyEncoder(2, 4, threshold=-1)
    with pytest.raises(ValueError, match=r"^threshold must be an integer in 1\.\.15, not 16$"):
        DeltaEncoder(2, 4, threshold=16)
    with pytest.raises(
        ValueError,
        match=r"^reference must be one of 'value', 'threshold', "
        r"not 'x'$",
    ):
        DeltaEncoder(2, 4, reference="x")
    with pytest.raises(ValueError, match=r"^initial must be an integer in 0\.\.15, not 99$"):
        DeltaEncoder(2, 4, initial=99)


def test_init_wrong_format_and_keys():
    with pytest.raises(TypeError, match=r"^event format must be an EventFormat, not 8$"):
        RateEncoder(2, fmt=8)
    with pytest.raises(
        ValueError,
        match=r"^key 16 \(key_base=7 \+ 10 lines, barrier_key=0\) "
        r"does not fit the format's key_width=4$",
    ):
        DeltaEncoder(5, 4, fmt=EventFormat(key_width=4), key_base=7)
    with pytest.raises(
        ValueError,
        match=r"^barrier_key must be an integer at least 0, "
        r"not -1$",
    ):
        RateEncoder(2, barrier_key=-1)
    with pytest.raises(ValueError, match=r"^first_tag must be an integer, not 'a'$"):
        RateEncoder(2, first_tag="a")


# ---------------------------------------------------------------------------------------------
# Hardware: amaranth.sim against the model


def simulate_encoder(enc, values, *, idle=0.3, backpressure=0.3, seed=0):
    """Run ``values`` (steps, channels) through ``enc`` with random idle input cycles and random
    back-pressure; return the output words."""
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
        while len(got) < expected_count:
            ready = rng_out.random() >= backpressure
            ctx.set(enc.o.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(enc.o.valid, enc.o.payload.as_value())
            if ready and valid:
                got.append(payload)

    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run_until(1e-8 * (len(flat) + expected_count + 10) * 12)
    return got


def random_encoder(kind, rng, *, channels=None, windows=(1, 2, 5, 16, 100)):
    channels = int(rng.choice([1, 2, 3, 7, 16])) if channels is None else channels
    fmt = None
    kwargs = {}
    if rng.integers(0, 2):
        fmt = EventFormat(
            key_width=10, step_width=int(rng.integers(2, 9)), payload_width=int(rng.integers(0, 3))
        )
        kwargs = {
            "fmt": fmt,
            "key_base": int(rng.integers(0, 300)),
            "barrier_key": int(rng.integers(0, 1024)),
            "first_tag": int(rng.integers(-2, 5)),
        }
    if kind == "rate":
        lfsr_width = int(rng.choice([4, 8, 16, 32]))
        v = int(rng.integers(1, min(lfsr_width, 12) + 1))
        enc = RateEncoder(
            channels, v, lfsr_width=lfsr_width, seed=int(rng.integers(0, 1000)), **kwargs
        )
    elif kind == "latency":
        v = int(rng.integers(1, 11))
        enc = LatencyEncoder(
            channels,
            v,
            window=int(rng.choice(windows)),
            threshold=int(rng.integers(0, min(3, 1 << v))),
            **kwargs,
        )
    else:
        v = int(rng.integers(3, 11))
        top = (1 << v) - 1
        enc = DeltaEncoder(
            channels,
            v,
            threshold=int(rng.integers(1, max(2, top // 3))),
            reference=str(rng.choice(["value", "threshold"])),
            initial=int(rng.integers(0, top + 1)),
            **kwargs,
        )
    return enc


def random_values(enc, steps, rng):
    top = (1 << enc.value_width) - 1
    if isinstance(enc, LatencyEncoder) and rng.integers(0, 2):
        # Held values over each window (the usual use), with a few changes.
        held = rng.integers(0, top + 1, size=(-(-steps // enc.window), enc.channels))
        values = np.repeat(held, enc.window, axis=0)[:steps]
        flip = rng.random(values.shape) < 0.05
        values[flip] = rng.integers(0, top + 1, size=int(flip.sum()))
        return values
    if isinstance(enc, DeltaEncoder):
        jump = max(1, top // 4)
        walk = np.cumsum(rng.integers(-jump, jump + 1, size=(steps, enc.channels)), axis=0)
        return np.clip(walk + top // 2, 0, top)
    values = rng.integers(0, top + 1, size=(steps, enc.channels))
    values[rng.random(values.shape) < 0.1] = top
    return values


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["rate", "latency", "delta"])
def test_sim(kind, seed):
    rng = np.random.default_rng(100 * seed + len(kind))
    enc = random_encoder(kind, rng)
    values = random_values(enc, 24, rng)
    got = simulate_encoder(
        enc,
        values,
        idle=float(rng.choice([0, 0.4])),
        backpressure=float(rng.choice([0, 0.5])),
        seed=seed,
    )
    expected = enc.expected_words(values)
    assert [enc.fmt.unpack(w) for w in got] == [enc.fmt.unpack(w) for w in expected]


def test_sim_stream_matches_host_convention():
    """key_base/barrier_key/first_tag=-1 give input spikes of step s and barrier s - 1, tagged
    s - 1, as neurohw.network.host_events sends them."""
    fmt = EventFormat(key_width=6, step_width=4)
    enc = DeltaEncoder(2, 4, threshold=3, fmt=fmt, key_base=8, barrier_key=63, first_tag=-1)
    values = np.array([[0, 15], [9, 15], [9, 0]])
    words = [fmt.unpack(w) for w in simulate_encoder(enc, values, idle=0, backpressure=0)]
    assert [(e.kind, e.key, e.step) for e in words] == [
        (EventKind.SPIKE, 10, 15),
        (EventKind.BARRIER, 63, 15),  # ON of channel 1
        (EventKind.SPIKE, 8, 0),
        (EventKind.BARRIER, 63, 0),
        (EventKind.SPIKE, 11, 1),
        (EventKind.BARRIER, 63, 1),
    ]
