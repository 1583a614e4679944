"""The convolution layer description (:class:`neurohw.hw.conv.ConvSpec`): its dense lowering
equals ``import_nir``'s on random shapes, and every refused parameter with its exact message."""

from __future__ import annotations

import re

import nir
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurohw.hw.conv import ConvSpec, pool_window
from neurohw.network.nir_import import _conv2d_matrix, _pool2d_matrix


def _nir_lowering(spec, kernel):
    """``import_nir``'s dense lowering of the layer: ``SumPool2d`` then ``Conv2d`` when pooled."""
    if spec.pooled:
        pool = nir.SumPool2d(
            kernel_size=np.array(spec.pool), stride=np.array(spec.pool), padding=np.array([0, 0])
        )
        pool_matrix, _, pooled_shape = _pool2d_matrix("pool", pool, spec.in_shape, False)
        assert pooled_shape == spec.pooled_shape, spec
        conv_matrix, out_shape = _conv_lowering(spec, kernel, pooled_shape)
        return pool_matrix @ conv_matrix, out_shape
    return _conv_lowering(spec, kernel, spec.in_shape)


def _conv_lowering(spec, kernel, in_shape):
    node = nir.Conv2d(
        input_shape=in_shape[1:],
        weight=kernel.astype(np.float64),
        stride=spec.stride,
        padding=spec.padding,
        dilation=spec.dilation,
        groups=1,
        bias=np.zeros(spec.out_channels),
    )
    matrix, _, out_shape = _conv2d_matrix("conv", node, in_shape)
    return matrix, out_shape


def _random_spec(rng, pooled=False):
    kernel = tuple(int(k) for k in rng.integers(1, 8, size=2))
    dilation = tuple(int(d) for d in rng.integers(1, 3, size=2))
    extent = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    # Pooling windows 1..4 (odd and even), with rows and columns left over that pooling drops.
    pool = tuple(int(p) for p in rng.integers(1, 5, size=2)) if pooled else (1, 1)
    in_shape = (
        int(rng.integers(1, 4)),
        (int(rng.integers(1, 6)) + extent[0]) * pool[0] + int(rng.integers(0, pool[0])),
        (int(rng.integers(1, 6)) + extent[1]) * pool[1] + int(rng.integers(0, pool[1])),
    )
    choice = int(rng.integers(0, 4))
    if choice == 0:
        padding, stride = "valid", tuple(int(s) for s in rng.integers(1, 3, size=2))
    elif choice == 1:
        padding, stride = "same", (1, 1)
    else:
        padding = (
            int(rng.integers(0, 4))
            if choice == 2
            else tuple(int(p) for p in rng.integers(0, 4, size=2))
        )
        stride = tuple(int(s) for s in rng.integers(1, 3, size=2))
    return ConvSpec(
        in_shape,
        int(rng.integers(1, 5)),
        kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        pool=pool if pooled else None,
    )


@pytest.mark.parametrize("pooled", [False, True])
@pytest.mark.parametrize("seed", range(40))
def test_dense_matrix_equals_nir_lowering(seed, pooled):
    """Without pooling the ``Conv2d`` lowering; with it, ``SumPool2d``'s times ``Conv2d``'s."""
    rng = np.random.default_rng(seed)
    spec = _random_spec(rng, pooled)
    kernel = rng.integers(-8, 8, size=spec.kernel_shape)
    matrix, out_shape = _nir_lowering(spec, kernel)
    assert out_shape == spec.out_shape, spec
    np.testing.assert_array_equal(spec.dense_matrix(kernel), matrix.astype(np.int64), str(spec))


@settings(max_examples=120, deadline=None, derandomize=True, database=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    pooled=st.booleans(),
    batch=st.sampled_from([(), (3,), (2, 2)]),
    max_count=st.sampled_from([1, 3]),
)
def test_apply_and_fan_out_equal_the_dense_lowering(seed, pooled, batch, max_count):
    """The kernel-only path (``apply``: pooling sum, then the correlation at the stride,
    padding and dilation; ``fan_out``) equals products and counts of ``dense_matrix``, the
    definition, on random specs, kernels with zeros, and batched counts."""
    rng = np.random.default_rng(seed)
    spec = _random_spec(rng, pooled)
    kernel = rng.integers(-128, 128, size=spec.kernel_shape)
    kernel[rng.random(spec.kernel_shape) < 0.3] = 0
    counts = rng.integers(0, max_count + 1, size=(*batch, spec.n_axons))
    counts[rng.random(counts.shape) < 0.5] = 0
    dense = spec.dense_matrix(kernel)
    np.testing.assert_array_equal(spec.apply(kernel, counts), counts @ dense, str(spec))
    np.testing.assert_array_equal(spec.fan_out(kernel), np.count_nonzero(dense, axis=1))


def test_apply_refuses_a_wrong_input_size():
    spec = ConvSpec((2, 4, 4), 3, 3)
    with pytest.raises(ValueError) as error:
        spec.apply(np.zeros(spec.kernel_shape, dtype=np.int64), np.zeros((2, 31)))
    assert (
        str(error.value)
        == "values must have 32 input positions on the last axis, not shape (2, 31)"
    )


def test_fanout_order_and_reach():
    """An event reaches each output at most once, visiting ky, kx, then oc innermost."""
    spec = ConvSpec((2, 5, 5), 3, 3, stride=2, padding=1)
    assert spec.out_shape == (3, 3, 3)
    fan = spec.fanout(0 * 25 + 2 * 5 + 2)  # (c=0, y=2, x=2): oy, ox in {1} via ky=kx=1
    assert fan == [(oc * 9 + 1 * 3 + 1, spec.kernel_index(oc, 0, 1, 1)) for oc in range(3)]
    for axon in range(spec.n_axons):
        neurons = [n for n, _ in spec.fanout(axon)]
        assert len(neurons) == len(set(neurons))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"in_shape": (2, 8)},
            ValueError,
            "in_shape must be (C, H, W) with three positive integers, not (2, 8)",
        ),
        (
            {"in_shape": (0, 8, 8)},
            ValueError,
            "in_shape must be (C, H, W) with three positive integers, not (0, 8, 8)",
        ),
        ({"out_channels": 0}, ValueError, "out_channels must be a positive integer, not 0"),
        ({"kernel_size": 8}, ValueError, "kernel_size=8 is not supported; allowed: integers 1..7"),
        (
            {"kernel_size": (3, 0)},
            ValueError,
            "kernel_size=(3, 0) is not supported; allowed: integers 1..7",
        ),
        (
            {"kernel_size": 2.0},
            TypeError,
            "kernel_size must be an integer or a pair of integers, not 2.0",
        ),
        ({"stride": 3}, ValueError, "stride=3 is not supported; allowed: 1 or 2"),
        ({"dilation": 0}, ValueError, "dilation=0 is not supported; allowed: integers 1..8"),
        (
            {"padding": -1},
            ValueError,
            "padding=-1 is not supported; allowed: 'valid', 'same', integers >= 0",
        ),
        (
            {"padding": "full"},
            ValueError,
            "padding='full' is not supported; allowed: 'valid', 'same', integers >= 0",
        ),
        (
            {"padding": "same", "stride": 2},
            ValueError,
            "padding='same' needs stride 1, not stride=2; allowed with stride 2: 'valid' or "
            "integer padding",
        ),
        ({"pool": 0}, ValueError, "pool=0 is not supported; allowed: None or integers >= 1"),
        (
            {"pool": (2, 9)},
            ValueError,
            "pool=(2, 9) does not fit the input (2, 8, 8); allowed: windows no larger than "
            "the input",
        ),
        (
            {"pool": 4, "kernel_size": 3, "padding": "valid"},
            ValueError,
            "kernel_size=(3, 3) with dilation=(1, 1) does not fit the input (2, 8, 8) pooled to "
            "(2, 2, 2) with padding='valid' (output 0 x 0)",
        ),
        (
            {"kernel_size": 7, "in_shape": (1, 4, 8)},
            ValueError,
            "kernel_size=(7, 7) with dilation=(1, 1) does not fit the input (1, 4, 8) with "
            "padding=0 (output -2 x 2)",
        ),
    ],
)
def test_refused_parameters(kwargs, error, message):
    args = {"in_shape": (2, 8, 8), "out_channels": 4, "kernel_size": 3, **kwargs}
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        ConvSpec(args.pop("in_shape"), args.pop("out_channels"), args.pop("kernel_size"), **args)


def test_pooled_events():
    """An event acts at its window's pooled position; the rows and columns that do not fill a
    window (here row 6 and column 8) reach nothing and take one clock."""
    spec = ConvSpec((2, 7, 9), 3, 3, padding=1, pool=2)
    assert spec.pooled_shape == (2, 3, 4) and spec.out_shape == (3, 3, 4)
    for y, x in [(2, 3), (3, 2), (3, 3)]:
        assert spec.fanout(63 + y * 9 + x) == spec.fanout(63 + 2 * 9 + 2)
    assert spec.pooled_position(63 + 3 * 9 + 5) == (1, 1, 2)
    for axon in (6 * 9 + 0, 5 * 9 + 8, 63 + 6 * 9 + 8):
        assert spec.fanout(axon) == [] and spec.event_iterations(axon) == 1
    assert ConvSpec((2, 7, 9), 3, 3, pool=1).pooled is False
    assert repr(spec).endswith("dilation=(1, 1), pool=(2, 2))")


def test_pool_window():
    """The pooling parameters of an export that a conv core implements, and the rest refused."""
    assert pool_window(2) == (2, 2)
    assert pool_window((2, 3), (2, 3), 0) == (2, 3)
    assert pool_window(np.array([4, 4]), np.array([4, 4]), np.array([0, 0])) == (4, 4)
    cases = [
        (
            (2, 1),
            ValueError,
            "pool stride=1 differs from kernel_size=2; allowed: stride equal "
            "to kernel_size (non-overlapping windows)",
        ),
        (
            (3, 2),
            ValueError,
            "pool stride=2 differs from kernel_size=3; allowed: stride equal "
            "to kernel_size (non-overlapping windows)",
        ),
        ((2, 2, 1), ValueError, "pool padding=1 is not supported; allowed: 0 (no padding)"),
        ((0,), ValueError, "pool kernel_size=0 is not supported; allowed: integers >= 1"),
        ((2.0,), TypeError, "pool kernel_size must be an integer or a pair of integers, not 2.0"),
    ]
    for args, error, message in cases:
        with pytest.raises(error, match=f"^{re.escape(message)}$"):
            pool_window(*args)


def test_refused_kernels():
    spec = ConvSpec((2, 6, 6), 3, 3)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "kernel must have shape (out_channels, C, Kh, Kw) = (3, 2, 3, 3), not (3, 3, 3)"
        ),
    ):
        spec.check_kernel(np.zeros((3, 3, 3), dtype=int), 4)
    kernel = np.zeros(spec.kernel_shape, dtype=int)
    kernel[1, 0, 2, 1] = 8
    with pytest.raises(
        ValueError, match=re.escape("kernel[1, 0, 2, 1] = 8 does not fit weight_width=4 ([-8, 7])")
    ):
        spec.check_kernel(kernel, 4)
    with pytest.raises(
        TypeError, match=re.escape("kernel must be an integer array, not dtype float64")
    ):
        spec.check_kernel(kernel.astype(float), 4)
    with pytest.raises(ValueError, match=re.escape("axon must be an integer in 0..71, not 72")):
        spec.fanout(72)
