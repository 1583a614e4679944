"""The NeuroBench metrics and the energy estimate in the flow's report (``neurohw compile`` and
``neurohw example``): :func:`add_energy_section` adds them to the report (and writes
``energy.png``), :func:`energy_markdown` renders them in ``report.md``."""

from __future__ import annotations

from pathlib import Path

from .energy import ENERGY_MODELS, chip_activity, counted_activity, estimate_energy
from .metrics import neurobench_metrics

__all__ = ["add_energy_section", "energy_markdown", "ENERGY_SAMPLES", "ENERGY_DEVICES"]

#: The energy estimate runs the plan model on at most this many samples (the first ones).
ENERGY_SAMPLES = 64
#: Devices estimated in every report (with the Fmax of a synthesis of the chip when the flow
#: ran one, otherwise the family's assumed Fmax), plus any other synthesized device.
ENERGY_DEVICES = ("ice40-up5k", "ecp5-85k")


def add_energy_section(report: dict, plan, samples, out_dir) -> dict:
    """Add ``report["neurobench"]`` (every sample) and ``report["energy"]`` (the first
    :data:`ENERGY_SAMPLES` samples, per device) to ``report``, from ``plan``'s network and
    chip on ``samples`` (checked :class:`~neurohw.network.system.Samples`); write the breakdown
    chart ``out_dir/energy.png``. ``report["synthesis"]`` supplies Fmax and flip-flops."""
    from ..plot import plot_energy_breakdown

    metrics = neurobench_metrics(plan.given_network, samples)
    report["neurobench"] = metrics.as_dict()
    n = min(samples.batch, ENERGY_SAMPLES)
    first = samples.first(n)
    activity = chip_activity(plan, first)
    synthesized = {
        s["device"]: s for s in report.get("synthesis", ()) if "error" not in s and s.get("ffs")
    }
    devices = list(ENERGY_DEVICES) + [
        d for d in synthesized if d in ENERGY_MODELS and d not in ENERGY_DEVICES
    ]
    estimates = []
    for device in devices:
        synth = synthesized.get(device, {})
        estimates.append(
            estimate_energy(
                plan,
                first,
                device,
                fmax_mhz=synth.get("fmax_mhz") or None,
                flip_flops=synth.get("ffs"),
                activity=activity,
            )
        )
    report["energy"] = {
        "samples": n,
        "label": "estimate (docs/energy.md), not a measurement",
        "activity": activity.as_dict(),
        "devices": [e.as_dict() for e in estimates],
        "tables": [e.table() for e in estimates],
    }
    counted = [v for v in report.get("verification", ()) if v.get("activity_equals_model")]
    if counted:
        # The RTL's own counters, checked equal to the model's by the verification.
        report["energy"]["rtl_counted"] = {
            "simulators": [v["simulator"] for v in counted],
            "samples": counted[0]["samples"],
            "counters": counted[0]["activity"],
        }
        per_sample = counted[0].get("activity_per_sample")
        if per_sample:
            report["energy"]["rtl_counted"]["per_sample"] = _per_sample_energy(
                plan, per_sample, activity, estimates
            )
    plot_energy_breakdown({e.family: e.breakdown for e in estimates}, Path(out_dir) / "energy.png")
    return report


def _per_sample_energy(plan, per_sample, model, estimates) -> list:
    """Each verified sample's RTL-counted activity (the difference of two reads of the
    counters between samples) and its energy priced on those counts, per device."""
    from ..network.plan_model import ActivityCounters

    rows = []
    for read in per_sample:
        counts = ActivityCounters.from_dict(read)
        activity = counted_activity(plan, counts, 1, model)
        rows.append(
            {
                "counters": read,
                "energy_uj": {
                    e.device: estimate_energy(
                        plan,
                        None,
                        e.device,
                        fmax_mhz=e.fmax_mhz,
                        flip_flops=e.flip_flops,
                        activity=activity,
                    ).total_uj
                    for e in estimates
                },
            }
        )
    return rows


def _per_sample_table(report: dict, rows: list) -> list[str]:
    families = {d["device"]: d["family"] for d in report["energy"]["devices"]}
    devices = list(rows[0]["energy_uj"])
    head = (
        "| sample | applied events | read-modify-write words | neuron updates | spikes out | "
        "host words in / out | router hops | cycles | "
        + " | ".join(f"uJ {families.get(d, d)}" for d in devices)
        + " |"
    )
    lines = [head, "|" + "---:|" * (8 + len(devices))]
    for k, row in enumerate(rows):
        c = row["counters"]
        cores = c["cores"]
        total = {name: sum(core[name] for core in cores) for name in cores[0]}
        lines.append(
            f"| {k} | {total['APPLIED_EVENTS']:,} | {total['SYNAPTIC_OPS']:,} | "
            f"{total['NEURON_UPDATES']:,} | {total['SPIKES_OUT']:,} | "
            f"{c['host_words_in']:,} / {c['host_words_out']:,} | {c['router_hops']:,} | "
            f"{c['cycles']:,} | " + " | ".join(f"{row['energy_uj'][d]:.3g}" for d in devices) + " |"
        )
    return lines


def energy_markdown(report: dict) -> list[str]:
    """The report's NeuroBench and energy sections as markdown lines (none without them)."""
    if "neurobench" not in report:
        return []
    from .metrics import NeuroBenchMetrics

    lines = [
        "",
        "## NeuroBench metrics (model, every sample)",
        "",
        NeuroBenchMetrics(**report["neurobench"]).table(),
    ]
    energy = report.get("energy")
    if energy:
        lines += [
            "",
            f"## Energy per inference: an estimate (first {energy['samples']} samples; "
            f"docs/energy.md gives every coefficient's source; chart: energy.png)",
        ]
        for table in energy["tables"]:
            lines += ["", table]
        counted = energy.get("rtl_counted")
        if counted:
            lines += [
                "",
                f"RTL-counted activity == model: the chip's activity counters after "
                f"{counted['samples']} samples on {', '.join(counted['simulators'])} equal the "
                f'plan model\'s prediction (docs/system-hardware.md, "Activity counters").',
            ]
            hw = counted["counters"]
            if hw.get("cycles") is not None:
                lines[-1] += (
                    f" Router hops counted: {hw['router_hops']:,}; cycles counted from the "
                    f"first host word to the last sample's barrier: {hw['cycles']:,} (equal to "
                    f"the testbench's count)."
                )
            rows = counted.get("per_sample")
            if rows and hw.get("cycles") is not None:
                lines[-1] += " The run's cycles include the holds for the reads between samples."
            if rows:
                lines += [
                    "",
                    "Per inference, from the hardware: the counters read between samples (the "
                    "host holds its words there), each sample the difference of two reads, "
                    "every read equal to the model's (`predict_activity_snapshots`); the energy "
                    "priced on those counts (docs/energy.md section 5). Each sample's cycles "
                    "run from its first host word to its last window's barrier.",
                    "",
                    *_per_sample_table(report, rows),
                ]
    return lines
