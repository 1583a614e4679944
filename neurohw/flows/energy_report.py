"""The NeuroBench metrics and the energy estimate in the flow's report (``neurohw compile`` and
``neurohw example``): :func:`add_energy_section` adds them to the report (and writes
``energy.png``), :func:`energy_markdown` renders them in ``report.md``."""

from __future__ import annotations

from pathlib import Path

from .energy import ENERGY_MODELS, chip_activity, estimate_energy
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
    plot_energy_breakdown({e.family: e.breakdown for e in estimates}, Path(out_dir) / "energy.png")
    return report


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
    return lines
