"""`map_network(lanes=...)` per population: a mapping population -> lanes (the others 1), checked
with exact messages, the same plan as the int where it names every population alike, and the
chip equal to the model in RTL (docs/system.md, "Mapping")."""

import re

import numpy as np
import pytest

from neurohw import Chip
from neurohw.network import MappingError, map_network
from neurohw.network.mapping import population_lanes
from tests.test_flow import small_network

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


def _lanes(plan):
    return [(core.population, core.lanes, core.connectivity) for core in plan.cores]


def test_lanes_per_population():
    network = small_network()
    plan = map_network(network, lanes={"h": 4, "o": 2})
    assert _lanes(plan) == [("h", 4, "dense"), ("o", 2, "dense")]
    # A population the mapping does not name gets 1 lane (map_network's default).
    assert _lanes(map_network(network, lanes={"h": 2})) == [("h", 2, "dense"), ("o", 1, "dense")]
    assert population_lanes(network, {"o": 8}) == {"h": 1, "o": 8}
    assert population_lanes(network, 4) == {"h": 4, "o": 4}


def test_a_mapping_of_every_population_alike_is_the_int():
    network = small_network()
    for lanes in (1, 2):
        by_int = Chip(map_network(network, lanes=lanes), debug=False)
        by_mapping = Chip(map_network(network, lanes={"h": lanes, "o": lanes}), debug=False)
        assert by_mapping.design_hash() == by_int.design_hash()


@pytest.mark.parametrize(
    ("lanes", "message"),
    [
        (
            {"h": 2, "hidden": 2, "y": 1},
            "lanes names 'hidden', 'y', not a population of the network; its populations: 'h', 'o'",
        ),
        (
            {"h": 3},
            "lanes['h'] must be a power of two between 1 and 64 (the neuron core banks neurons "
            "by address bits), not 3",
        ),
        ({"o": 128}, "lanes['o'] must be between 1 and 64, not 128"),
        ({"o": 0}, "lanes['o'] must be between 1 and 64, not 0"),
        ({"o": 2.0}, "lanes['o'] must be an integer, not 2.0"),
        (
            6,
            "lanes must be a power of two between 1 and 64 (the neuron core banks neurons by "
            "address bits), not 6",
        ),  # fmt: skip
        ("2", "lanes must be an integer, not '2'"),
    ],
)
def test_bad_lanes(lanes, message):
    with pytest.raises(MappingError, match=re.escape(message) + "$"):
        map_network(small_network(), lanes=lanes)


def test_sparse_needs_one_lane_in_every_population():
    with pytest.raises(MappingError, match=re.escape(
        "connectivity='sparse' needs lanes=1 (a sparse core issues one synapse per clock), "
        "not lanes={'o': 2}; use connectivity='dense' or 'auto' with lanes={'o': 2}"
    )):  # fmt: skip
        map_network(small_network(), lanes={"o": 2}, connectivity="sparse")
    plan = map_network(small_network(), lanes={"h": 1}, connectivity="sparse")
    assert [c.connectivity for c in plan.cores] == ["sparse", "sparse"]


def test_lanes_per_population_in_rtl(simulator, tmp_path):
    """Cores of different lanes in one chip compute what the model does, step by step."""
    network = small_network()
    chip = Chip(map_network(network, lanes={"h": 4, "o": 1}))
    rng = np.random.default_rng(5)
    inputs = {"x": rng.integers(0, 3, (6, 2, 12))}
    result = chip.verify(inputs, simulator=simulator, build_dir=tmp_path)
    assert result.samples == 2 and result.output_events_compared > 0
