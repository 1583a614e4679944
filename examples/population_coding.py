"""Population coding through an integer spiking network.

Three sensor-like channels (a temperature, a pressure and a humidity trace, synthetic and
seeded) are sampled at a few time points. Each sample is held for ``STEPS`` steps: every channel
value becomes an 8-bit code, then the spikes of 16 neurons with Gaussian tuning curves
(:func:`neurohw.encoding.gaussian_code`, binary rate mode). The integer network
(``neurohw.network.simulate``) has two populations:

* ``relay`` (48 integrate-and-fire neurons, weight = threshold, reset by subtraction): every
  input spike makes exactly one relay spike in the same step (the host's counts of step ``t``
  act in step ``t``), so decoding the relay's spike counts
  gives back the encoded value (the population code survives a hop through the chip);
* ``alarm`` (3 neurons, one per channel): fires while its channel is (roughly) in the top quarter of its
  range, read from the relay neurons whose centres lie there (one step later: a population's
  spikes reach the next population in the next step).

Run: ``python examples/population_coding.py``. Prints, per sample and channel, the true value,
the value decoded from the relay population and the alarm spike count.
"""

from __future__ import annotations

import numpy as np

from neurohw.encoding import gaussian_code
from neurohw.model import NeuronParams
from neurohw.network import InputGroup, Network, Population, Projection, simulate

CHANNELS = (("temperature", 10.0, 40.0), ("pressure", 950.0, 1050.0), ("humidity", 0.0, 100.0))
N_NEURONS = 16
STEPS = 30  # steps per sample
SAMPLES = 6


def sensor_values(samples: int, seed: int = 0) -> np.ndarray:
    """Seeded synthetic readings ``(samples, channels)`` inside each channel's range."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, samples)
    out = []
    for k, (_, low, high) in enumerate(CHANNELS):
        mid, amp = (low + high) / 2, (high - low) / 2
        wave = (
            mid + 0.8 * amp * np.sin(2 * np.pi * (t + k / 3)) + rng.normal(0, 0.05 * amp, samples)
        )
        out.append(np.clip(wave, low, high))
    return np.stack(out, axis=1)


def build_network(code) -> Network:
    n_lines = N_NEURONS * len(CHANNELS)
    if_neuron = NeuronParams(
        n_currents=0, v_width=16, threshold=8, comparison=">=", reset="subtract", max_spikes=1
    )
    relay = np.eye(n_lines, dtype=np.int64) * 8  # one spike in, one spike out
    top = np.asarray(code.centres) >= 3 * (code.n_codes - 1) // 4
    alarm = np.zeros((n_lines, len(CHANNELS)), dtype=np.int64)
    for k in range(len(CHANNELS)):
        alarm[k * N_NEURONS : (k + 1) * N_NEURONS, k] = np.where(top, 4, -4)
    return Network(
        inputs=[InputGroup("sensors", n_lines, max_count=code.max_count("rate"))],
        populations=[
            Population("relay", n_lines, if_neuron),
            Population("alarm", len(CHANNELS), if_neuron.replace(threshold=24)),
        ],
        projections=[Projection("sensors", "relay", relay), Projection("relay", "alarm", alarm)],
        outputs=["relay", "alarm"],
    )


def main():
    code = gaussian_code(N_NEURONS, code_bits=8, max_level=15)
    values = sensor_values(SAMPLES)
    codes = np.stack(
        [code.quantize(values[:, k], low, high) for k, (_, low, high) in enumerate(CHANNELS)],
        axis=1,
    )  # (samples, ch)
    spikes = code.encode(codes, STEPS, mode="rate")  # (steps, samples, ch, N)
    inputs = {"sensors": spikes.reshape(STEPS, SAMPLES, -1)}
    network = build_network(code)
    trace = simulate(network, inputs)
    # The relay reproduces the input spikes exactly, step by step.
    relay = trace.spikes["relay"].reshape(STEPS, SAMPLES, len(CHANNELS), N_NEURONS)
    np.testing.assert_array_equal(relay, spikes)
    decoded = code.decode(relay.sum(axis=0), STEPS, mode="rate")
    alarms = trace.spikes["alarm"].sum(axis=0)
    print(
        f"population code: {N_NEURONS} neurons per channel, 8-bit codes, Gaussian table of "
        f"{len(code.table)} words, {STEPS} steps per sample (rate mode)"
    )
    print(network.summary())
    worst = 0.0
    for s in range(SAMPLES):
        cells = []
        for k, (name, low, high) in enumerate(CHANNELS):
            back = float(code.value(decoded[s, k], low, high))
            worst = max(worst, abs(back - values[s, k]) / (high - low))
            cells.append(f"{name} {values[s, k]:8.2f} -> {back:8.2f} (alarm {alarms[s, k]:2d})")
        print(f"sample {s}: " + "; ".join(cells))
    print(f"largest decoding error: {100 * worst:.2f} % of the range")
    return worst


if __name__ == "__main__":
    main()
