"""The byte-identical-Verilog tool: SHA-256 of the Verilog of representative NeuronCore and chip
configurations, to show that a refactoring leaves the hardware unchanged (and, through
:mod:`neurohw.flows.design_hash`, the same hashing that ``make_benchmarks.py --check`` uses to
decide whether a published figure is fresh).

Chips (``neurohw.Chip.verilog`` of a few CI-style plans, the debug port on and off)::

    python benchmarks/verilog_hashes.py > before.json     # at the old commit
    python benchmarks/verilog_hashes.py --compare before.json

At the old commit (before ``neurohw.Chip``) the same text is
``verilog.convert(SystemTop(plan, debug=..., router_fifo_depth=...), name="neurohw_system",
emit_src=False)``, which is what ``Chip.verilog`` returns; the script falls back to it.

Cores (about 25 s; the lint sets of tests/test_core_lint.py and tests/test_templates.py,
imported from there, plus STDP, delay rings, multi-bank and SPRAM weight stores, reset_delay,
per_event, input caps, graded events and four system plans; for SPRAM cores also the text that
synthesis reads, ``name/synth``)::

    PYTHONPATH=. python benchmarks/verilog_hashes.py save FILE    # before a change
    PYTHONPATH=. python benchmarks/verilog_hashes.py check FILE   # after it: exit 1 on a change
    PYTHONPATH=. python benchmarks/verilog_hashes.py check FILE NAME ...  # only these

``CORE_VERILOG_DUMP=DIR`` also writes each core's Verilog there, for a diff. The old entry point
``tests/core_verilog_hashes.py save|check`` is a thin wrapper of the same code.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from neurohw.flows.design_hash import core_verilog, sha256_text, verilog_text  # noqa: E402
from neurohw.hw.core import NeuronCore  # noqa: E402
from neurohw.model import Decay, NeuronParams  # noqa: E402
from neurohw.model.stdp import STDPParams  # noqa: E402

# -- core configurations ----------------------------------------------------------------------


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


def _lint_sets():
    """The lint configurations of tests/test_core_lint.py (``lint-*``) and two of
    tests/test_templates.py (``tpl-*``), imported so that the sets cannot drift apart."""
    from tests.test_core_lint import CONFIGS
    from tests.test_templates import LINT_CONFIGS

    sets = {f"lint-{name}": make for name, make in CONFIGS.items()}
    for name in ("dense-p4-loihi", "dense-p2-per-neuron"):
        sets[f"tpl-{name}"] = LINT_CONFIGS[name]
    return sets


#: Configurations beyond the lint sets.
EXTRA_CORES = {
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


def core_configurations() -> dict:
    """``{name: builder}`` of every core configuration (lint sets first)."""
    return {**_lint_sets(), **EXTRA_CORES, **_systems()}


def core_hashes(names=None, dump=None) -> dict:
    """``{configuration: sha256 prefix}`` of the Verilog; for SPRAM cores also of the text that
    synthesis reads (``name/synth``)."""
    result = {}
    for name, make in core_configurations().items():
        if names and name not in names:
            continue
        design = make()
        text = verilog_text(design)
        result[name] = sha256_text(text)[:16]
        if dump:
            (dump / f"{name}.v").write_text(text)
        if name.startswith("spram"):
            result[name + "/synth"] = sha256_text(core_verilog(design))[:16]
    return result


def core_main(argv) -> int:
    """``save FILE [NAME ...]`` or ``check FILE [NAME ...]``."""
    warnings.simplefilter("error")
    if len(argv) < 2 or argv[0] not in ("save", "check"):
        print("usage: verilog_hashes.py save|check FILE [NAME ...]", file=sys.stderr)
        return 2
    mode, path = argv[0], argv[1]
    dump = os.environ.get("CORE_VERILOG_DUMP")
    if dump:
        os.makedirs(dump, exist_ok=True)
    got = core_hashes(argv[2:], dump and pathlib.Path(dump))
    if mode == "save":
        with open(path, "w") as file:
            json.dump(got, file, indent=1)
        print(f"saved {len(got)} hashes")
        return 0
    with open(path) as file:
        want = json.load(file)
    bad = [n for n in got if got[n] != want.get(n)]
    print(f"{len(got) - len(bad)}/{len(got)} identical; changed: {bad}")
    return 1 if bad else 0


# -- chips ------------------------------------------------------------------------------------


def plans():
    from neurohw.network.mapping import CoreCapacity, map_network
    from neurohw.sim.system_case import (
        random_graded_network,
        random_learning_network,
        random_network,
        random_same_step_network,
        random_xylo_network,
    )

    yield "random0-star", map_network(random_network(0))
    yield "random1-mesh", map_network(random_network(1), topology="mesh")
    yield (
        "random2-lanes2-split",
        map_network(random_network(2), lanes=2, capacity=CoreCapacity(max_neurons=4)),
    )
    yield "xylo0", map_network(random_xylo_network(0))
    yield "samestep0", map_network(random_same_step_network(0))
    yield "graded0", map_network(random_graded_network(0))
    yield "learning0", map_network(random_learning_network(0))


def chip_verilog(plan, debug: bool, depth: int) -> str:
    try:
        from neurohw import Chip
    except ImportError:  # before neurohw.Chip
        from amaranth.back import verilog

        from neurohw.hw.system import SYSTEM_TOPLEVEL, SystemTop

        return verilog.convert(
            SystemTop(plan, debug=debug, router_fifo_depth=depth),
            name=SYSTEM_TOPLEVEL,
            emit_src=False,
        )
    return Chip(plan, debug=debug, router_fifo_depth=depth).verilog()


def hashes() -> dict:
    """``{plan-debugD-fifoF: sha256}`` of the chips' Verilog (``Chip.design_hash``'s text)."""
    out = {}
    for name, plan in plans():
        for debug in (True, False):
            for depth in (2, 4) if name == "random0-star" else (2,):
                text = chip_verilog(plan, debug, depth)
                out[f"{name}-debug{int(debug)}-fifo{depth}"] = sha256_text(text)
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("save", "check"):
        return core_main(argv)
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="cores: verilog_hashes.py save|check FILE [NAME ...]",
    )
    parser.add_argument(
        "--compare", metavar="JSON", help="hashes written earlier; exit 1 on any difference"
    )
    args = parser.parse_args(argv)
    current = hashes()
    if not args.compare:
        json.dump(current, sys.stdout, indent=1)
        print()
        return 0
    before = json.loads(Path(args.compare).read_text())
    changed = sorted(k for k in before.keys() | current.keys() if before.get(k) != current.get(k))
    for key in changed:
        print(f"{key}: {before.get(key)} -> {current.get(key)}")
    print(f"{len(current) - len(changed)} of {len(current)} identical")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
