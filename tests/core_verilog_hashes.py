"""Hashes of the Verilog of a representative set of NeuronCore / SystemTop configurations.

A refactoring check, not a test (it takes about 25 s): from the repository root,
``PYTHONPATH=. python tests/core_verilog_hashes.py save FILE`` on the tree before a change and
``... check FILE`` after it; every hash must be equal (the RTL regressions then cannot change),
or differ only where the change says why. ``CORE_VERILOG_DUMP=DIR`` also writes the Verilog
there, for a diff. Configurations: the lint sets of
tests/test_core_lint.py and tests/test_templates.py plus STDP, delay rings, multi-bank and SPRAM
weight stores, reset_delay, per_event, input caps, graded events and three system plans.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import sys
import warnings

import numpy as np
from amaranth.back import verilog

from neurohw.hw.core import NeuronCore
from neurohw.model import Decay, NeuronParams
from neurohw.model.presets import loihi_cuba_lif, xylo_lif
from neurohw.model.stdp import STDPParams


def _p16(**kw):
    return NeuronParams(
        n_currents=1,
        v_width=16,
        i_width=16,
        v_overflow="saturate",
        i_overflow="saturate",
        v_decay=Decay.multiply(410, 12),
        i_decay=(Decay.multiply(1024, 12),),
        threshold=1000,
        reset="zero",
        **kw,
    )


def _sparse(shape=(1, 8, 12), seed=3, density=0.4, low=-8, high=8):
    rng = np.random.default_rng(seed)
    w = rng.integers(low, high, size=shape)
    w[rng.random(shape) >= density] = 0
    return w


def _core(params, **kw):
    return NeuronCore(params, **kw)


def _stdp():
    return STDPParams(
        w_min=-20,
        w_max=40,
        a_plus=3,
        a_minus=2,
        shift=4,
        trace_width=6,
        pre_increment=20,
        post_increment=30,
    )


def _stdp_soft():
    return STDPParams(
        w_min=-20,
        w_max=31,
        a_plus=3,
        a_minus=9,
        shift=3,
        trace_width=5,
        pre_increment=9,
        post_increment=13,
        weight_dependence="soft",
        pre_decay=Decay.shift(2),
        post_decay=Decay.multiply(3000, 12, rounding="nearest"),
    )


def _delays(shape, max_delay, seed=5):
    return np.random.default_rng(seed).integers(0, max_delay + 1, size=shape)


CORES = {
    # tests/test_core_lint.py
    "lint-dense-p1": lambda: _core(_p16(), n_neurons=12, n_axons=8, weight_width=8),
    "lint-dense-p4": lambda: _core(_p16(), n_neurons=12, n_axons=8, weight_width=8, lanes=4),
    "lint-sparse": lambda: _core(
        _p16(), n_neurons=12, n_axons=8, weight_width=4, weights=_sparse(), connectivity="sparse"
    ),
    "lint-loihi": lambda: _core(
        loihi_cuba_lif(du=1024, dv=410, vth=100, refractory_period=2),
        n_neurons=12,
        n_axons=8,
        weight_width=8,
    ),
    "lint-xylo": lambda: _core(
        xylo_lif(dash_mem=3, dash_syn=(2, 4), threshold=[1000] * 12, input_count_cap=15),
        n_neurons=12,
        n_axons=8,
        weight_width=8,
        lanes=2,
    ),
    "lint-loihi-per-neuron": lambda: _core(
        loihi_cuba_lif(
            du=np.arange(12) * 341,
            dv=4095 - np.arange(12) * 341,
            vth=100,
            drive_bias=np.arange(12) - 6,
        ),
        n_neurons=12,
        n_axons=8,
        weight_width=8,
    ),
    "lint-xylo-per-neuron": lambda: _core(
        xylo_lif(dash_mem=3, dash_syn=(2, 4), threshold=[1000] * 12, input_count_cap=15).replace(
            v_decay=Decay.shift(np.arange(12) * 5),
            i_decay=(Decay.shift(np.arange(12)), Decay.shift(4)),
        ),
        n_neurons=12,
        n_axons=8,
        weight_width=8,
        lanes=2,
    ),
    "lint-graded-p2": lambda: _core(
        _p16(),
        n_neurons=12,
        n_axons=8,
        weight_width=8,
        lanes=2,
        value_width=5,
        max_events_per_step=100,
    ),
    "lint-graded-sparse": lambda: _core(
        _p16(),
        n_neurons=12,
        n_axons=8,
        weight_width=4,
        weights=_sparse(),
        connectivity="sparse",
        value_width=17,
    ),
    # tests/test_templates.py
    "tpl-dense-p4-loihi": lambda: _core(
        loihi_cuba_lif(du=1024, dv=410, vth=100, refractory_period=2),
        n_neurons=9,
        n_axons=300,
        weight_width=8,
        lanes=4,
    ),
    "tpl-dense-p2-per-neuron": lambda: _core(
        loihi_cuba_lif(
            du=np.arange(6) * 800, dv=np.arange(6) * 819, vth=100, drive_bias=np.arange(6) - 3
        ),
        n_neurons=6,
        n_axons=5,
        weight_width=8,
        lanes=2,
    ),
    # per-neuron threshold/bias/reset_value memories (sim/core_case.py config_params)
    "per-neuron-tbr": lambda: _core(
        NeuronParams(threshold=20, bias_mantissa=1, reset="value", reset_value=-3),
        n_neurons=7,
        n_axons=4,
        weight_width=5,
        per_neuron={"threshold", "bias", "reset_value"},
        lanes=2,
    ),
    # per_event accumulation, caps, event limits (test_neuron_core hazard cases)
    "per-event-cap": lambda: _core(
        NeuronParams(
            n_currents=1,
            v_width=14,
            i_width=12,
            i_decay=(Decay.shift(1),),
            accumulation="per_event",
            input_timing="before_decay",
            input_count_cap=5,
            threshold=700,
            reset="subtract",
            max_spikes=3,
        ),
        n_neurons=3,
        n_axons=4,
        weight_width=6,
        lanes=4,
        weights=_sparse((1, 4, 3), 1, 0.8),
    ),
    "per-event-sparse": lambda: _core(
        NeuronParams(
            n_currents=1,
            v_width=14,
            i_width=12,
            i_decay=(Decay.shift(1),),
            accumulation="per_event",
            input_timing="before_decay",
            input_count_cap=4,
            threshold=700,
            reset="subtract",
            max_spikes=3,
            i_overflow="wrap",
        ),
        n_neurons=5,
        n_axons=4,
        weight_width=6,
        connectivity="sparse",
        weights=_sparse((1, 4, 5), 2, 0.6),
    ),
    "per-event-wrap-lava": lambda: _core(
        NeuronParams(
            n_currents=1,
            v_width=14,
            i_width=12,
            i_decay=(Decay.shift(1),),
            accumulation="per_event",
            input_timing="before_decay",
            threshold=700,
            reset="subtract",
            i_overflow="wrap_lava",
        ),
        n_neurons=4,
        n_axons=3,
        weight_width=6,
        max_events_per_step=7,
    ),
    "sum-cap-limit": lambda: _core(
        NeuronParams(
            input_count_cap=3,
            threshold=50,
            reset="subtract",
            max_spikes=31,
            input_shift=1,
            bias_mantissa=-2,
        ),
        n_neurons=10,
        n_axons=6,
        weight_width=7,
        lanes=2,
        max_events_per_step=9,
    ),
    "two-channel": lambda: _core(
        NeuronParams(n_currents=2, i_decay=(Decay.shift(1), Decay.shift(2)), threshold=100),
        n_neurons=6,
        n_axons=5,
        weight_width=6,
        lanes=2,
        weights=_sparse((2, 5, 6), 4, 0.7),
    ),
    "reset-delay": lambda: _core(
        NeuronParams(reset="subtract", reset_delay=True, threshold=30),
        n_neurons=5,
        n_axons=3,
        weight_width=5,
        lanes=2,
    ),
    "reset-delay-sparse": lambda: _core(
        NeuronParams(reset="subtract", reset_delay=True, threshold=30),
        n_neurons=5,
        n_axons=3,
        weight_width=5,
        connectivity="sparse",
        weights=_sparse((1, 3, 5), 6, 0.6),
    ),
    # delay rings
    "ring-dense": lambda: _core(
        NeuronParams(threshold=40),
        n_neurons=6,
        n_axons=4,
        weight_width=6,
        lanes=2,
        max_delay=4,
        weights=_sparse((1, 4, 6), 7, 0.7),
        delays=_delays((1, 4, 6), 4),
    ),
    "ring-sparse": lambda: _core(
        NeuronParams(threshold=40),
        n_neurons=6,
        n_axons=4,
        weight_width=6,
        connectivity="sparse",
        max_delay=3,
        weights=_sparse((1, 4, 6), 8, 0.6),
        delays=_delays((1, 4, 6), 3),
    ),
    "ring-graded": lambda: _core(
        NeuronParams(threshold=40),
        n_neurons=6,
        n_axons=4,
        weight_width=6,
        max_delay=5,
        value_width=4,
        weights=_sparse((1, 4, 6), 9, 0.7),
        delays=_delays((1, 4, 6), 5),
    ),
    # multi-bank weight stores
    "multibank-dense": lambda: _core(
        NeuronParams(threshold=40), n_neurons=12, n_axons=300, weight_width=8
    ),
    "multibank-dense-p2-ring": lambda: _core(
        NeuronParams(threshold=40), n_neurons=12, n_axons=400, weight_width=8, lanes=2, max_delay=2
    ),
    "multibank-sparse": lambda: _core(
        NeuronParams(threshold=40),
        n_neurons=40,
        n_axons=200,
        weight_width=8,
        connectivity="sparse",
        weights=_sparse((1, 200, 40), 10, 0.4),
    ),
    "multibank-sparse-graded": lambda: _core(
        NeuronParams(threshold=40),
        n_neurons=40,
        n_axons=200,
        weight_width=8,
        connectivity="sparse",
        value_width=3,
        weights=_sparse((1, 200, 40), 11, 0.4),
    ),
    # SPRAM weights
    "spram": lambda: _core(
        NeuronParams(threshold=40), n_neurons=8, n_axons=10, weight_width=8, weight_memory="spram"
    ),
    "spram-multibank-p2": lambda: _core(
        NeuronParams(threshold=40),
        n_neurons=20,
        n_axons=2000,
        weight_width=16,
        lanes=2,
        weight_memory="spram",
    ),
    # STDP
    "stdp": lambda: _core(
        NeuronParams(input_count_cap=1, threshold=20),
        n_neurons=5,
        n_axons=4,
        weight_width=7,
        stdp=_stdp(),
        weights=_sparse((1, 4, 5), 12, 0.7),
    ),
    "stdp-p2-soft-plastic": lambda: _core(
        NeuronParams(input_count_cap=1, threshold=20, refractory_period=1),
        n_neurons=5,
        n_axons=4,
        weight_width=7,
        lanes=2,
        stdp=_stdp_soft(),
        weights=_sparse((1, 4, 5), 13, 0.7),
        plastic=np.random.default_rng(14).random((1, 4, 5)) < 0.5,
    ),
    "stdp-ring-multibank": lambda: _core(
        NeuronParams(input_count_cap=1, threshold=20),
        n_neurons=10,
        n_axons=300,
        weight_width=7,
        stdp=_stdp(),
        max_delay=3,
        weights=_sparse((1, 300, 10), 15, 0.3),
        delays=_delays((1, 300, 10), 3),
    ),
    "stdp-no-aplus": lambda: _core(
        NeuronParams(input_count_cap=1, threshold=20),
        n_neurons=4,
        n_axons=3,
        weight_width=7,
        stdp=STDPParams(w_min=-20, w_max=40, a_plus=0),
    ),
}


def _systems():
    from neurohw.hw.system import SystemTop
    from neurohw.network.mapping import CoreCapacity, map_network
    from neurohw.sim.system_case import (
        random_graded_network,
        random_learning_network,
        random_network,
        random_xylo_network,
    )

    out = {}
    for name, make, neurons in (
        ("system-random", random_network, 4),
        ("system-xylo", random_xylo_network, 3),
        ("system-graded", random_graded_network, 4),
        ("system-learning", random_learning_network, 4),
    ):

        def build(make=make, neurons=neurons, debug=True):
            plan = map_network(make(1), capacity=CoreCapacity(max_neurons=neurons, max_axons=64))
            return SystemTop(plan, debug=debug)

        out[name] = build
    return out


def hashes(names=None, dump=None):
    """``{configuration: sha256 prefix}`` of the Verilog; for SPRAM cores also of the text that
    synthesis reads (``name/synth``)."""
    from neurohw.flows.synth import synthesis_verilog

    result = {}
    for name, make in {**CORES, **_systems()}.items():
        if names and name not in names:
            continue
        design = make()
        text = verilog.convert(design, name="top", emit_src=False)
        result[name] = hashlib.sha256(text.encode()).hexdigest()[:16]
        if dump:
            (dump / f"{name}.v").write_text(text)
        if name.startswith("spram"):
            text = synthesis_verilog(design, "top")
            result[name + "/synth"] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return result


if __name__ == "__main__":
    warnings.simplefilter("error")
    mode, path = sys.argv[1], sys.argv[2]
    dump = os.environ.get("CORE_VERILOG_DUMP")
    if dump:
        os.makedirs(dump, exist_ok=True)
    got = hashes(sys.argv[3:], dump and pathlib.Path(dump))
    if mode == "save":
        with open(path, "w") as file:
            json.dump(got, file, indent=1)
        print(f"saved {len(got)} hashes")
    else:
        with open(path) as file:
            want = json.load(file)
        bad = [n for n in got if got[n] != want.get(n)]
        print(f"{len(got) - len(bad)}/{len(got)} identical; changed: {bad}")
        sys.exit(1 if bad else 0)
