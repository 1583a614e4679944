"""Neuron-update throughput of the Loihi CUBA LIF preset: numpy reference vs compiled fast path.

For each population size the script runs ``--steps`` time steps (best of ``--repeats``) on

* ``numpy reference``: ``neurohw.model.reference.step`` in a Python loop (the definition);
* ``numpy int64 baseline``: a hand-written, in-place numpy update of this one preset (what plain
  vectorized numpy can do without the reference's generality);
* ``fast per-step``: ``FastPopulation.step`` called once per step from Python;
* ``fast loop``: ``FastPopulation.advance``, the time loop inside the compiled kernel;

all on one core (the kernel is compiled with ``parallel=False``; numpy runs these elementwise
operations single-threaded). The drive is random and sparse: each neuron receives input in a
step with probability ``--density``, a sum of 8-bit weights; a pool of frames is cycled so large
populations do not need gigabytes of drive. Compile time is excluded (each path is warmed up
first) and reported separately. Every size is checked for bit-exactness between the paths.

Usage: ``python benchmarks/bench_model.py [--sizes 1000 65536 1048576] [--steps 100]
[--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from neurohw.model import (  # noqa: E402
    StepInput,
    fast,  # noqa: E402
    initial_state,
    loihi_cuba_lif,
    step,
)

PRESET = dict(du=410, dv=205, vth=400)  # tau_u ~ 10 steps, tau_v ~ 20 steps; ~4% firing
FRAMES = 32


def make_frames(rng, n, density, frames=FRAMES):
    """(frames, 1, 1, n) int32 drive: sparse sums of a few signed 8-bit weights."""
    active = rng.random((frames, 1, 1, n)) < density
    n_inputs = rng.integers(1, 4, size=(frames, 1, 1, n))
    weights = rng.integers(-128, 128, size=(frames, 1, 1, n)) * n_inputs
    return np.where(active, weights, 0).astype(np.int32)


class NumpyBaseline:
    """The Loihi preset written directly in in-place int64 numpy (no refractory, scalar bias)."""

    def __init__(self, params, n):
        self.cu = params.i_decay[0].factor
        self.cv = params.v_decay.factor
        self.threshold = int(params.effective_threshold)
        self.bias = int(params.bias)
        self.u = np.zeros(n, np.int64)
        self.v = np.zeros(n, np.int64)
        self.tmp = np.zeros(n, np.int64)
        self.drive = np.zeros(n, np.int64)

    @staticmethod
    def _decay(x, factor, tmp):
        np.multiply(x, factor, out=x)
        np.right_shift(x, 63, out=tmp)  # -1 for negative products
        np.bitwise_and(tmp, 4095, out=tmp)
        np.add(x, tmp, out=x)  # round toward zero
        np.right_shift(x, 12, out=x)

    def step(self, drive):
        u, v, tmp, d = self.u, self.v, self.tmp, self.drive
        np.copyto(d, drive)
        self._decay(u, self.cu, tmp)
        np.left_shift(d, 6, out=d)
        np.add(u, d, out=u)
        low = -(1 << 23) + 1
        np.subtract(u, low, out=u)  # wrap into (-2^23, 2^23]
        np.bitwise_and(u, (1 << 24) - 1, out=u)
        np.add(u, low, out=u)
        self._decay(v, self.cv, tmp)
        np.add(v, u, out=v)
        if self.bias:
            np.add(v, self.bias, out=v)
        np.clip(v, low, (1 << 23) - 1, out=v)
        spikes = v > self.threshold
        v[spikes] = 0
        return spikes


def best_of(repeats, fn):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_size(n, steps, repeats, density, seed, compile_times):
    rng = np.random.default_rng(seed)
    params = loihi_cuba_lif(**PRESET)
    frames32 = make_frames(rng, n, density)
    frames64 = frames32.astype(np.int64)
    row = {"neurons": n, "steps": steps, "repeats": repeats}

    # numpy reference
    state = [initial_state(params, n)]

    def numpy_run():
        s = state[0]
        for t in range(steps):
            s, _ = step(params, s, StepInput(drive=frames64[t % FRAMES]))
        state[0] = s

    step(params, state[0], StepInput(drive=frames64[0]))  # warm-up
    row["numpy_s"] = best_of(repeats, numpy_run)
    ref_state = state[0]
    row["numpy_state_bytes_per_neuron"] = (
        ref_state.v.nbytes + ref_state.i.nbytes + ref_state.refractory.nbytes
    ) // n

    # plain numpy int64 baseline
    baseline = NumpyBaseline(params, n)
    baseline.step(frames64[0, 0, 0])

    def baseline_run():
        for t in range(steps):
            baseline.step(frames64[t % FRAMES, 0, 0])

    row["baseline_s"] = best_of(repeats, baseline_run)
    row["baseline_state_bytes_per_neuron"] = 16

    # fast path: compile (first population of this configuration) is timed separately
    start = time.perf_counter()
    population = fast.FastPopulation(params, n)
    out = np.empty((1, n), np.uint8)
    population.step(frames32[0], out=out)
    population.advance(frames32[:2])
    warm = time.perf_counter() - start
    compile_times.setdefault("first_kernel_s", warm)

    def fast_step_run():
        for t in range(steps):
            population.step(frames32[t % FRAMES], out=out)

    row["fast_step_s"] = best_of(repeats, fast_step_run)

    def fast_loop_run():
        for _ in range(steps // FRAMES):
            population.advance(frames32)
        if steps % FRAMES:
            population.advance(frames32[: steps % FRAMES])

    row["fast_loop_s"] = best_of(repeats, fast_loop_run)
    row["fast_state_bytes_per_neuron"] = population.state_bytes_per_neuron

    # bit-exactness of all paths over a fresh run, and the spike rate
    check_steps = 40
    s = initial_state(params, n)
    check = fast.FastPopulation(params, n)
    base = NumpyBaseline(params, n)
    total = 0
    for t in range(check_steps):
        s, ref_spikes = step(params, s, StepInput(drive=frames64[t % FRAMES]))
        got = check.step(frames32[t % FRAMES])
        base_spikes = base.step(frames64[t % FRAMES, 0, 0])
        total += int(ref_spikes.sum())
        assert np.array_equal(got, ref_spikes), f"fast spikes differ at step {t}"
        assert np.array_equal(base_spikes, ref_spikes[0]), f"baseline differs at step {t}"
    fs = check.state()
    assert np.array_equal(fs.v, s.v) and np.array_equal(fs.i, s.i), "fast state differs"
    assert np.array_equal(base.v, s.v[0]) and np.array_equal(base.u, s.i[0, 0])
    row["bit_exact"] = True
    row["spikes_per_neuron_step"] = total / (check_steps * n)

    updates = n * steps
    for key in ("numpy", "baseline", "fast_step", "fast_loop"):
        row[f"{key}_updates_per_s"] = updates / row[f"{key}_s"]
    row["ratio_fast_step_over_numpy"] = row["fast_step_updates_per_s"] / row["numpy_updates_per_s"]
    row["ratio_fast_loop_over_numpy"] = row["fast_loop_updates_per_s"] / row["numpy_updates_per_s"]
    return row


def compile_time_fresh_config():
    """Compile time of one more configuration, numba already initialized."""
    params = loihi_cuba_lif(du=411, dv=206, vth=41)
    start = time.perf_counter()
    fast.FastPopulation(params, 16).step(np.zeros((1, 1, 16), np.int32))
    return time.perf_counter() - start


def markdown(rows, compile_times, density):
    m = 1e6
    lines = [
        f"Loihi CUBA LIF preset {PRESET}, 1 core, drive density {density}, "
        "million neuron updates per second (best of repeats)",
        "",
        "| neurons | steps | numpy reference | numpy int64 baseline | fast per-step | "
        "fast loop | fast/numpy | state B/neuron numpy | state B/neuron baseline | "
        "state B/neuron fast | spikes/neuron/step |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['neurons']:,} | {r['steps']} | {r['numpy_updates_per_s'] / m:.1f} | "
            f"{r['baseline_updates_per_s'] / m:.1f} | {r['fast_step_updates_per_s'] / m:.1f} | "
            f"{r['fast_loop_updates_per_s'] / m:.1f} | "
            f"{r['ratio_fast_step_over_numpy']:.0f}x / {r['ratio_fast_loop_over_numpy']:.0f}x | "
            f"{r['numpy_state_bytes_per_neuron']} | {r['baseline_state_bytes_per_neuron']} | "
            f"{r['fast_state_bytes_per_neuron']} | {r['spikes_per_neuron_step']:.3f} |"
        )
    lines += [
        "",
        "fast/numpy: fast per-step / fast loop over the numpy reference. All paths bit-exact.",
        f"Compile time (excluded above): first kernel incl. numba start-up "
        f"{compile_times['first_kernel_s']:.2f} s; another configuration "
        f"{compile_times['another_config_s']:.2f} s.",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 65536, 1 << 20])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--density", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    compile_times = {}
    rows = [
        bench_size(n, args.steps, args.repeats, args.density, args.seed + k, compile_times)
        for k, n in enumerate(args.sizes)
    ]
    compile_times["another_config_s"] = compile_time_fresh_config()
    print(markdown(rows, compile_times, args.density))
    if args.json:
        import numba

        meta = {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "numba": numba.__version__,
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "preset": PRESET,
            "density": args.density,
            "seed": args.seed,
        }
        with open(args.json, "w") as handle:
            json.dump({"meta": meta, "compile": compile_times, "rows": rows}, handle, indent=2)


if __name__ == "__main__":
    main()
