"""The resource model of neuron-core chips: LUT4 per family as a linear function of cores,
lanes, lane weight bits and the debug port (``docs/explore.md``, "Resource model"), and the
synthesized chips it is fitted to and checked on.

A pure description (numbers and one function, no hardware built): ``neurohw explore`` prunes and
predicts with it, and a synthesis error of a chip with the debug port states the port's share
from it (:func:`neurohw.flows.report.debug_port_note`).
"""

from __future__ import annotations

__all__ = ["LUT_MEASURED", "LUT_MODEL", "predict_luts"]

#: Linear LUT4 model ``base + per_core * cores + per_lane * lanes + per_lane_weight_bit *
#: lane_weight_bits + (debug port on) per_debug_core * cores + per_debug_lane * lanes``, per
#: family, ``lanes`` summed over the cores and ``lane_weight_bits`` the sum over the cores of
#: lanes times weight width (``docs/explore.md``, "Resource model"). Fitted by
#: ``benchmarks/explore_lut_fit.py`` (non-negative least squares on the relative error) to
#: :data:`LUT_MEASURED`. The debug port's share grows with the lanes (each lane's state is
#: readable through it): a per-core term alone, fitted on a small two-core chip, under-predicted
#: the 784-128-10 chips with the debug port by 30-32 %.
LUT_MODEL = {
    "ice40": {
        "base": 0.0,
        "per_core": 691.0,
        "per_lane": 208.0,
        "per_lane_weight_bit": 0.0,
        "per_debug_core": 345.0,
        "per_debug_lane": 21.0,
    },
    "ecp5": {
        "base": 0.0,
        "per_core": 704.0,
        "per_lane": 72.0,
        "per_lane_weight_bit": 10.7,
        "per_debug_core": 154.0,
        "per_debug_lane": 219.0,
    },
}
#: The synthesized chips :data:`LUT_MODEL` is fitted to and checked on: ``(family, source,
#: cores, lanes, lane_weight_bits, debug, LUT4)``. ``system_synth``: the BENCHMARKS.md rows
#: (``benchmarks/results/system_synth.json``, no debug port); ``explore``: the runs of
#: ``benchmarks/results/explore.json``; ``system.md``: the SPRAM rows of docs/system.md
#: "Weights in SPRAM" (Yosys' SB_LUT4 count; nextpnr found no placement); ``tests``: the chips
#: of ``tests/test_explore.py`` (docs/explore.md, "Measured").
LUT_MEASURED = (
    ("ecp5", "system_synth digits-p1", 2, 2, 16, False, 1525),
    ("ecp5", "system_synth mnist-p1", 2, 2, 16, False, 2156),
    ("ecp5", "system_synth mnist-p8", 2, 16, 128, False, 3814),
    ("ecp5", "system_synth mnist-p16", 2, 32, 256, False, 6399),
    ("ecp5", "system_synth mnist-w2-p2", 2, 3, 6, False, 1680),
    ("ecp5", "system_synth mnist-w2-p4", 2, 5, 10, False, 1818),
    ("ecp5", "system_synth mnist-w2-p8", 2, 9, 18, False, 2159),
    ("ecp5", "system_synth mnist-w4-p4", 2, 5, 20, False, 1933),
    ("ecp5", "system_synth mnist-w4-p8", 2, 9, 36, False, 2850),
    ("ecp5", "explore digits-ecp5-85k w4-l1", 2, 2, 8, True, 2183),
    ("ecp5", "explore digits-ecp5-85k w4-l4", 2, 8, 32, True, 4598),
    ("ecp5", "explore digits-ecp5-85k w8-l1", 2, 2, 16, True, 2296),
    ("ecp5", "explore digits-ecp5-85k w8-l4", 2, 8, 64, True, 4456),
    ("ecp5", "explore mnist-ecp5-85k wN-l1", 2, 2, 16, True, 3318),
    ("ecp5", "explore mnist-ecp5-85k wN-l8", 2, 16, 128, True, 7836),
    ("ice40", "system_synth digits-p1", 2, 2, 16, False, 1892),
    ("ice40", "explore digits-icebreaker w4-l1", 2, 2, 8, False, 1827),
    ("ice40", "explore digits-icebreaker w8-l1", 2, 2, 16, False, 1892),
    ("ice40", "system.md mnist-w4-p4-spram", 2, 5, 20, True, 3200),
    ("ice40", "system.md mnist-w2-p4-spram", 2, 5, 10, True, 3152),
    ("ice40", "system.md mnist-w2-p8-spram", 2, 9, 18, True, 4192),
    ("ice40", "tests small_network l1", 2, 2, 16, False, 1735),
    ("ice40", "tests small_network l2", 2, 4, 32, False, 2441),
    ("ice40", "tests small_network l1 debug", 2, 2, 16, True, 2559),
    ("ice40", "tests tiny_network l1", 1, 1, 8, False, 841),
    ("ice40", "tests tiny_network l2", 1, 2, 16, False, 1026),
)


def predict_luts(family: str, *, cores: int, lanes: int, lane_weight_bits: int, debug: bool):
    """:data:`LUT_MODEL`'s LUT4 of a chip (a float)."""
    k = LUT_MODEL[family]
    luts = (
        k["base"]
        + k["per_core"] * cores
        + k["per_lane"] * lanes
        + k["per_lane_weight_bit"] * lane_weight_bits
    )
    if debug:
        luts += k["per_debug_core"] * cores + k["per_debug_lane"] * lanes
    return luts
