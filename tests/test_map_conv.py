"""Convolution structure through import, quantization, mapping and the chip (issue #15): a
``Conv2d`` projection keeps its (ConvSpec, kernel) next to the dense lowering that stays its
semantics, and ``map_network`` places it on a convolution core."""

import re

import numpy as np
import pytest

from neurohw.hw.conv import ConvSpec
from neurohw.network import Network, NetworkError, Projection
from tests.test_trainer_import import calibration_inputs, import_fixture


def snn_conv_integer(**options):
    from neurohw.network import quantize

    network, meta, data = import_fixture("snn_conv")
    integer, report = quantize(
        network, weight_width=8, calibration={"input": calibration_inputs(meta)}, **options
    )
    return network, integer, report, meta, data


def test_import_keeps_the_conv_structure_of_snn_conv():
    network, meta, data = import_fixture("snn_conv")
    conv, dense = network.projections
    spec, kernel = conv.conv
    assert spec.in_shape == (1, 8, 8) and spec.out_shape == (4, 6, 6)
    assert spec.kernel_size == (3, 3) and spec.stride == (1, 1)
    assert kernel.shape == (4, 1, 3, 3)
    # The float dense matrix is the lowering of the float kernel, entry by entry.
    lowered = np.zeros(conv.weight.shape)
    for axon in range(spec.n_axons):
        for neuron, word in spec.fanout(axon):
            lowered[axon, neuron] = kernel.reshape(-1)[word]
    np.testing.assert_array_equal(lowered, conv.weight)
    assert dense.conv is None


def test_quantization_keeps_one_integer_kernel():
    network, integer, report, meta, data = snn_conv_integer()
    conv = integer.projections[0]
    spec, kernel = conv.conv
    np.testing.assert_array_equal(spec.dense_matrix(kernel), conv.weights)
    assert integer.projections[1].conv is None


def test_conv_kernel_must_describe_the_weights():
    spec = ConvSpec((1, 4, 4), 2, 3)
    kernel = np.arange(18).reshape(spec.kernel_shape) - 9
    weights = spec.dense_matrix(kernel)
    Projection("a", "b", weights, conv=(spec, kernel))
    bad = weights.copy()
    bad[0, 0] += 1
    with pytest.raises(NetworkError) as error:
        Projection("a", "b", bad, conv=(spec, kernel))
    assert str(error.value) == (
        f"projection 'a' -> 'b': weights are not the dense lowering of the conv kernel "
        f"({spec!r}); conv must describe the weights exactly"
    )
    with pytest.raises(NetworkError, match=re.escape("a conv projection takes no count_cap")):
        Projection("a", "b", weights, conv=(spec, kernel), count_cap=3)


def test_network_file_keeps_the_conv_structure(tmp_path):
    network, integer, report, meta, data = snn_conv_integer()
    integer.save(tmp_path / "net.npz")
    loaded = Network.load(tmp_path / "net.npz")
    spec, kernel = integer.projections[0].conv
    loaded_spec, loaded_kernel = loaded.projections[0].conv
    assert repr(loaded_spec) == repr(spec)
    np.testing.assert_array_equal(loaded_kernel, kernel)
    assert loaded.projections[1].conv is None
