"""Encoders on iCE40UP5K and ECP5-85F (resources, Fmax) and the event-camera path's
throughput in Python (events per second), into ``benchmarks/results/encoders.json``.

    .venv/bin/python benchmarks/bench_encoders.py [--part synth|events|all] [--run NAME ...]

A thin client of :func:`neurohw.flows.synth.synthesize` (one run at a time; the JSON is written
after every run, so an interrupted sweep keeps what it measured). Encoder configuration: 64
channels of 8-bit values (rate: 16-bit LFSRs; latency: window 16; delta: threshold 8, value
reference), default event format (8-bit step tags). Each design sits in the flow's serial I/O
harness on both devices (every port registered, so Fmax covers all paths); cell counts are the
encoder's alone. Throughput of the design: one value per clock plus one clock per step (the
barrier), so values per second = Fmax x channels / (channels + 1).

The event part times, on a synthetic recording (moving bar + blinking spots + noise, 346 x 260
sensor, the DAVIS346 size): reading each format, mapping + binning into (steps, batch, lines)
counts (4x downsampling, split polarities, 1 ms windows), and the whole path into the host's
event words (``neurohw.network.host_events.encode_samples`` on a one-population network).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "encoders.json"
DEVICES = {"up5k": "ice40-up5k", "ecp5": "ecp5-85k"}
TARGET_MHZ = {"up5k": 50, "ecp5": 150}
CHANNELS = 64


def encoders():
    from neurohw.hw.encoders import DeltaEncoder, LatencyEncoder, RateEncoder

    return {
        "rate": lambda: RateEncoder(CHANNELS, 8, lfsr_width=16, seed=1),
        "latency": lambda: LatencyEncoder(CHANNELS, 8, window=16),
        "delta": lambda: DeltaEncoder(CHANNELS, 8, threshold=8),
    }


RUNS = [f"{kind}-{dev}" for kind in ("rate", "latency", "delta") for dev in DEVICES]


def run_synth(name, build):
    from neurohw.flows.synth import SynthesisError, synthesize

    kind, dev = name.rsplit("-", 1)
    design = encoders()[kind]()
    row = {
        "run": name,
        "encoder": kind,
        "device": DEVICES[dev],
        "channels": CHANNELS,
        "value_width": 8,
        "target_mhz": TARGET_MHZ[dev],
    }
    try:
        report = synthesize(
            design,
            device=DEVICES[dev],
            workdir=build / name,
            name=f"encoder-{name}",
            clock_mhz=TARGET_MHZ[dev],
            harness=True,
            timeout=1500,
        )
    except SynthesisError as error:
        row["error"] = str(error)
        return row
    fmax = report.fmax_mhz or 0.0
    row.update(
        {
            "luts": report.luts,
            "carries": report.carries,
            "ffs": report.ffs,
            "bram": report.bram,
            "dsp": report.dsp,
            "logic_cells": report.logic_cells,
            "fmax_mhz": round(fmax, 2),
            "values_per_s": round(fmax * 1e6 * CHANNELS / (CHANNELS + 1)),
            "wall_time_s": report.wall_time_s,
            "yosys": report.yosys_version,
            "nextpnr": report.nextpnr_version,
        }
    )
    return row


def _best(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def run_events(duration_us=500_000):
    from neurohw.events import (
        FORMATS,
        SensorMapping,
        bin_events,
        read_events,
        synthetic_recording,
        write_events,
    )
    from neurohw.model import Decay, NeuronParams
    from neurohw.network import (
        CoreCapacity,
        InputGroup,
        Network,
        Population,
        Projection,
        map_network,
    )
    from neurohw.network.host_events import encode_samples

    width, height = 346, 260
    events = synthetic_recording(width, height, duration_us=duration_us, seed=1)
    n = len(events)
    out = {"events": n, "sensor": f"{width}x{height}", "duration_us": duration_us}
    mapping = SensorMapping(width, height, downsample=4, polarity="split")
    steps, window = 50, 1000
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in FORMATS:
            path = Path(tmp) / f"rec.{fmt}"
            start = time.perf_counter()
            write_events(path, events, fmt)
            written = time.perf_counter() - start
            seconds, back = _best(lambda path=path: read_events(path))
            assert back.same_as(events)
            out[f"read_{fmt}"] = {
                "events_per_s": round(n / seconds),
                "seconds": seconds,
                "bytes": path.stat().st_size,
                "write_seconds": written,
            }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seconds, binned = _best(
            lambda: bin_events(events, mapping, window_us=window, steps=steps, max_count=15)
        )
    out["bin"] = {
        "events_per_s": round(n / seconds),
        "seconds": seconds,
        "lines": mapping.size,
        "steps": steps,
        "window_us": window,
        "batch": binned.report.batch,
        "report": str(binned.report),
    }
    # The whole path into the host stream of a chip: one input group, one small population.
    rng = np.random.default_rng(0)
    params = NeuronParams(
        n_currents=0,
        v_width=16,
        v_overflow="saturate",
        v_decay=Decay.none(),
        threshold=100,
        reset="zero",
    )
    weights = rng.integers(-8, 9, size=(mapping.size, 16))
    net = Network(
        inputs=[InputGroup("dvs", mapping.size, max_count=15)],
        populations=[Population("p", 16, params)],
        projections=[Projection("dvs", "p", weights)],
        outputs=["p"],
    )
    plan = map_network(net, capacity=CoreCapacity(max_axons=16384))
    seconds, words = _best(lambda: encode_samples(plan, binned.inputs("dvs")), repeat=1)
    host_events = sum(1 for _ in words)
    out["host_words"] = {
        "binned_events_per_s": round(binned.report.delivered / seconds),
        "words": host_events,
        "seconds": seconds,
    }
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("synth", "events", "all"), default="all")
    parser.add_argument("--run", action="append", choices=RUNS)
    parser.add_argument("--build", type=Path, default=REPO / "build" / "bench_encoders")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = json.loads(args.json.read_text()) if args.json.exists() else {}
    results.setdefault("synth", {})

    def save():
        from neurohw.flows.design_hash import provenance

        args.json.parent.mkdir(parents=True, exist_ok=True)
        # What it ran: the neurohw sources (docs/benchmarks.md, "Freshness").
        results["provenance"] = provenance()
        args.json.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")

    if args.part in ("events", "all"):
        results["events"] = run_events()
        save()
        print(json.dumps(results["events"], indent=1))
    if args.part in ("synth", "all"):
        for name in args.run or RUNS:
            row = run_synth(name, args.build)
            results["synth"][name] = row
            save()
            print(
                name,
                {
                    k: row.get(k)
                    for k in (
                        "luts",
                        "carries",
                        "ffs",
                        "bram",
                        "dsp",
                        "logic_cells",
                        "fmax_mhz",
                        "error",
                    )
                },
                flush=True,
            )


if __name__ == "__main__":
    main()
