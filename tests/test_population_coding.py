"""Population coding and the rate code: the integer definitions (golden tables), properties of the
tuning curves and of the decoder (hypothesis, derandomized), the hardware accumulator form of the
rate code, refusals, and the example through the integer network."""

import re
import runpy
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurohw.encoding import (
    PopulationCode,
    PopulationCodeError,
    cosine_code,
    gaussian_code,
    rate_code,
    rate_code_accumulator,
    rate_total,
)
from neurohw.train.digits import encode_images

SETTINGS = settings(derandomize=True, max_examples=60, deadline=None)

GAUSSIAN_16 = (
    15,
    15,
    15,
    15,
    15,
    14,
    14,
    14,
    13,
    13,
    13,
    12,
    12,
    11,
    11,
    10,
    10,
    9,
    9,
    8,
    8,
    7,
    6,
    6,
    6,
    5,
    5,
    4,
    4,
    4,
    3,
    3,
    3,
    2,
    2,
    2,
    2,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
)


def test_golden_tables_and_centres():
    """The tables are the definition that hardware copies: pin them."""
    code = gaussian_code(16)
    assert code.table == GAUSSIAN_16
    assert code.centres == tuple(17 * k for k in range(16))
    assert cosine_code(8, code_bits=6, max_level=7).table == (
        7,
        7,
        7,
        7,
        7,
        6,
        6,
        6,
        5,
        5,
        4,
        4,
        4,
        3,
        2,
        2,
        1,
        1,
    )
    assert gaussian_code(5, code_bits=4).centres == (0, 4, 8, 11, 15)
    assert code.to_dict()["rom_words"] == 45 and code.to_dict()["rom_word_bits"] == 4


def test_levels_are_the_table_lookup():
    code = gaussian_code(16)
    levels = code.levels(np.array([0, 17, 20, 255]))
    assert levels.shape == (4, 16)
    assert list(levels[0, :4]) == [15, GAUSSIAN_16[17], GAUSSIAN_16[34], 0]
    assert levels[2, 1] == GAUSSIAN_16[3] and levels[2, 0] == GAUSSIAN_16[20]
    assert levels[3, 15] == 15


# (neurons, code bits, max level, tuning width in centre spacings, shape). With very few levels
# or very wide curves the code cannot resolve anything (max_level=1: every level is 0 or 1), so
# the accuracy property is stated for at least 7 levels and widths of 0.5 to 1.5 spacings.
codes_params = st.tuples(
    st.integers(3, 24),
    st.integers(4, 10),
    st.integers(7, 31),
    st.floats(0.5, 1.5),
    st.sampled_from([gaussian_code, cosine_code]),
)


def make(params):
    n, bits, q, width, kind = params
    spacing = ((1 << bits) - 1) / (n - 1)
    if kind is gaussian_code:
        return gaussian_code(n, code_bits=bits, max_level=q, sigma=width * spacing)
    return cosine_code(n, code_bits=bits, max_level=q, width=2 * width * spacing)


@SETTINGS
@given(codes_params, st.data())
def test_tuning_curves_fall_off_with_distance(params, data):
    code = make(params)
    u1, u2 = (data.draw(st.integers(0, code.n_codes - 1)) for _ in range(2))
    l1, l2 = code.levels(u1), code.levels(u2)
    c = np.asarray(code.centres)
    closer = np.abs(u1 - c) <= np.abs(u2 - c)
    assert np.all(l1[closer] >= l2[closer])
    assert np.all((l1 >= 0) & (l1 <= code.max_level))
    k = data.draw(st.integers(0, code.n_neurons - 1))
    assert code.levels(code.centres[k])[k] == code.table[0]


@SETTINGS
@given(codes_params, st.sampled_from(["count", "rate"]), st.integers(1, 40))
def test_decoder_is_consistent_monotonic_and_bounded(params, mode, steps):
    code = make(params)
    if mode == "rate":
        steps = max(steps, code.max_level)  # every level stays distinguishable
    u = np.arange(code.n_codes)
    totals = code.encode(u, steps, mode).sum(axis=0)
    decoded = code.decode(totals, steps, mode)
    # the decoded code produces exactly the same counts (nothing better is knowable) ...
    np.testing.assert_array_equal(code.encode(decoded, steps, mode).sum(axis=0), totals)
    # ... the decoder is monotonic ...
    assert np.all(np.diff(decoded) >= 0)
    # ... and errs by at most half a centre spacing
    spacing = (code.n_codes - 1) / (code.n_neurons - 1)
    assert np.max(np.abs(decoded - u)) <= spacing / 2


def test_default_code_resolution():
    """16 Gaussian neurons on 8-bit codes: the template decoder is within one code everywhere
    (count mode, and rate mode with at least max_level steps); the centroid within one code in
    the middle three quarters of the range."""
    code = gaussian_code(16)
    u = np.arange(256)
    for mode, steps in (("count", 1), ("count", 7), ("rate", 15), ("rate", 40)):
        totals = code.encode(u, steps, mode).sum(axis=0)
        assert np.max(np.abs(code.decode(totals, steps, mode) - u)) <= 1
    totals = code.encode(u, 1).sum(axis=0)
    centroid = code.decode(totals, 1, method="centroid")
    inner = (u >= 32) & (u < 224)
    assert np.max(np.abs(centroid - u)[inner]) <= 1


@SETTINGS
@given(st.integers(1, 64), st.integers(1, 50), st.data())
def test_rate_code_equals_the_hardware_accumulator(levels, steps, data):
    q = np.asarray(data.draw(st.lists(st.integers(0, levels), min_size=1, max_size=8)))
    spikes = rate_code(q, levels, steps)
    np.testing.assert_array_equal(spikes, rate_code_accumulator(q, levels, steps))
    assert set(np.unique(spikes)) <= {0, 1}
    np.testing.assert_array_equal(spikes.sum(axis=0), rate_total(q, levels, steps))
    np.testing.assert_array_equal(spikes.sum(axis=0), (2 * steps * q + levels) // (2 * levels))


def test_rate_code_is_the_digits_encoder():
    images = np.random.default_rng(0).integers(0, 17, (9, 64))
    for steps in (1, 5, 16, 33):
        np.testing.assert_array_equal(rate_code(images, 16, steps), encode_images(images, steps))


def test_rate_mode_with_enough_steps_decodes_like_count_mode():
    code = gaussian_code(12, code_bits=7, max_level=9)
    u = np.arange(128)
    count = code.decode(code.encode(u, 1).sum(axis=0), 1)
    rate = code.decode(code.encode(u, 9, "rate").sum(axis=0), 9, "rate")
    np.testing.assert_array_equal(count, rate)


def test_quantize_and_value():
    code = gaussian_code(8, code_bits=8)
    np.testing.assert_array_equal(
        code.quantize([-5.0, 0.0, 0.5, 1.0, 7.0], 0.0, 1.0), [0, 0, 128, 255, 255]
    )
    assert code.value(255, 10.0, 40.0) == pytest.approx(40.0)
    assert code.max_count("count") == 15 and code.max_count("rate") == 1


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: gaussian_code(1), "n_neurons must be between 2 and 4096, not 1"),
        (
            lambda: gaussian_code(8, sigma=0.0),
            "sigma must be a positive number (code units), not 0.0",
        ),
        (
            lambda: cosine_code(8, width=-1.0),
            "width must be a positive number (code units), not -1.0",
        ),
        (
            lambda: PopulationCode(4, 4, 7, (7, 8)),
            "table entries must lie in 0..max_level=7, not 7..8",
        ),
        (
            lambda: PopulationCode(4, 4, 7, (3, 5)),
            "table must be non-increasing (a tuning curve falls off with the distance from the centre)",
        ),
        (
            lambda: PopulationCode(4, 4, 7, (0, 0)),
            "table must have a positive first entry, not all zeros",
        ),
        (
            lambda: gaussian_code(4, code_bits=4).levels([16]),
            "codes must lie in 0..15 (code_bits=4), not 16..16",
        ),
        (
            lambda: gaussian_code(4).levels([0.5]),
            "codes must be integers (use quantize() for float values), not dtype float64",
        ),
        (
            lambda: gaussian_code(4).encode([1], 3, mode="poisson"),
            "mode must be one of 'count', 'rate', not 'poisson'",
        ),
        (
            lambda: gaussian_code(4).decode(np.zeros((2, 3), dtype=int), 1),
            "totals must have shape (..., 4), not (2, 3)",
        ),
        (
            lambda: gaussian_code(4).decode(np.zeros((1, 4), dtype=int), 1, method="mean"),
            "method must be 'template' or 'centroid', not 'mean'",
        ),
        (
            lambda: gaussian_code(4).quantize([1.0], 2.0, 1.0),
            "need finite low < high, not low=2.0, high=1.0",
        ),
        (lambda: rate_code([17], 16, 4), "levels_values must lie in 0..16, not 17..17"),
    ],
)
def test_refusals(call, message):
    with pytest.raises((PopulationCodeError, ValueError), match=re.escape(message)):
        call()


def test_example_through_the_integer_network(capsys):
    path = Path(__file__).resolve().parent.parent / "examples" / "population_coding.py"
    namespace = runpy.run_path(str(path))
    worst = namespace["main"]()
    assert worst < 0.01
    assert "largest decoding error" in capsys.readouterr().out
