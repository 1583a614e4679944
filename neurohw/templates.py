"""Vendor-integration files rendered around a generated :class:`~neurohw.hw.core.NeuronCore`.

:func:`render` writes, for one core, everything a user needs to drop it into a design made with
another tool (Vivado, Quartus, Radiant, Diamond, a hand-written Verilog top):

==============================  ===============================================================
``<name>.v``                    the core (Amaranth's Verilog, module ``<name>``)
``<name>_axis.v``               AXI4-Stream wrapper, module ``<name>_axis`` (``aclk``,
                                ``aresetn``; ``s_axis_spikes``, ``s_axis_step``, ``s_axis_cmd``
                                in; ``m_axis_spikes``, ``m_axis_done``, ``m_axis_rsp`` out;
                                ``overflow``)
``<name>_axis_inst.vh``         instantiation template of the wrapper (wires + instance)
``<name>_pkg.sv``               SystemVerilog package ``<name>_pkg``: sizes, widths, payload
                                field offsets, command targets, status words, packed structs
``<name>.json``                 the same description as data (for :mod:`neurohw.host`)
``icebreaker.pcf``              iCEBreaker pins of the host-link top level ``icebreaker_top``
``ulx3s.lpf``                   ULX3S pins of the host-link top level ``ulx3s_top``
``icebreaker_top.v``,           with ``board_tops=True``: the host-link top levels themselves
``ulx3s_top.v``                 (core + UART bridge, :mod:`neurohw.hw.host_bridge`)
==============================  ===============================================================

The templates are Jinja2 files in ``rtl_templates/`` at the root of the repository. Rendering is
deterministic: the same core gives byte-identical files (no dates, no paths). Pin locations come
from the board specs in ``boards/specs.py`` (read from ``amaranth-boards``), so the constraint
files and the Amaranth board builds (``boards/``) use the same pins. ``docs/integration.md`` describes the wrapper's protocol.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from boards.specs import BOARDS, board_pins

from .hw.core import STEP_WIDTH, NeuronCore, Status, Target

__all__ = ["TEMPLATE_DIR", "render", "core_description", "axis_streams"]

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "rtl_templates"

_STREAMS = (
    # (core port, AXI-Stream interface, direction, constant prefix, description)
    ("spikes_in", "s_axis_spikes", "in", "SPIKES_IN", "input spikes: one axon address per transfer"),
    ("step", "s_axis_step", "in", "STEP_IN", "step: one transfer ends the step's input (TDATA reserved, send 0)"),
    ("cmd", "s_axis_cmd", "in", "CMD", "commands {write, target, neuron, axon, data}"),
    ("spikes_out", "m_axis_spikes", "out", "SPIKES_OUT", "output spikes {neuron, count, step}"),
    ("done", "m_axis_done", "out", "DONE", "done: the step number, after every spike of the step"),
    ("rsp", "m_axis_rsp", "out", "RSP", "responses {data, error}, one per command, in order"),
)


def _bytes(width: int) -> int:
    return max(1, math.ceil(width / 8))


def axis_streams(core: NeuronCore) -> list[dict]:
    """The core's streams as AXI4-Stream interfaces: port, interface name, direction, payload
    width, TDATA width (bytes) and payload fields ``{name, offset, width, signed}``."""
    description = core.port_description()
    # A graded core's event is {axon, value} (docs/core.md, "Graded events").
    widths = {"spikes_in": core.axon_bits + core.value_width, "step": 1,
              "cmd": core.cmd_layout.size,
              "spikes_out": core.spike_layout.size, "done": STEP_WIDTH,
              "rsp": core.rsp_layout.size}
    fields = {"spikes_in": description["spikes_in"],
              "step": {"reserved": (0, 1, False)},
              "cmd": description["cmd"], "spikes_out": description["spikes_out"],
              "done": {"step": (0, STEP_WIDTH, False)}, "rsp": description["rsp"]}
    streams = []
    for port, axis, direction, const, text in _STREAMS:
        width = widths[port]
        streams.append({
            "port": port, "axis": axis, "direction": direction, "const": const,
            "description": text, "width": width, "tdata_width": 8 * _bytes(width),
            "direction_text": "slave, input" if direction == "in" else "master, output",
            "fields": [{"name": n, "offset": o, "width": w, "signed": bool(s)}
                       for n, (o, w, s) in sorted(fields[port].items(), key=lambda x: x[1][0])],
        })
    return streams


def core_description(core: NeuronCore, *, name: str = "neuron_core") -> dict:
    """Everything the templates and the host library need to know about ``core``, as
    JSON-compatible data (``port_description()`` plus sizes and the AXI-Stream widths)."""
    ports = core.port_description()
    event_limit = ports["event_limit"]
    return {
        "name": name,
        "n_neurons": core.n_neurons, "n_axons": core.n_axons, "weight_width": core.weight_width,
        "lanes": core.lanes, "lane_depth": core.lane_depth, "channels": core.channels,
        "n_currents": core.params.n_currents, "connectivity": core.connectivity,
        "n_synapses": core.n_synapses if core.connectivity == "sparse" else 0,
        "v_state_width": core.v_state_width, "i_state_width": core.i_state_width,
        "acc_width": core.acc_width, "data_width": core.data_width, "axon_bits": core.axon_bits,
        "value_width": core.value_width,
        "step_width": STEP_WIDTH, "latency": core.update_latency,
        "reset_cycles": max(core.lane_depth, core.n_axons),
        "event_limit": event_limit if event_limit is not None else 0,
        "per_neuron": sorted(core.per_neuron),
        "params": core.params.to_dict(),
        "ports": {key: ports[key] for key in ("spikes_in", "cmd", "rsp", "spikes_out",
                                              "targets", "status",
                                              "step_width", "latency", "lanes", "connectivity",
                                              "input_count_cap", "event_limit")},
        "streams": axis_streams(core),
    }


def _environment():
    try:
        import jinja2
    except ImportError as error:  # pragma: no cover - jinja2 is a dependency
        raise ImportError("neurohw.templates needs jinja2 (`pip install jinja2`)") from error
    if not TEMPLATE_DIR.is_dir():
        raise FileNotFoundError(f"the RTL templates are not at {TEMPLATE_DIR}: neurohw.templates "
                                f"needs the repository's rtl_templates/ directory")
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              autoescape=False)


def _write(path: Path, text: str) -> Path:
    # Rewrite only on change: simulators and make compare timestamps.
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def _lpf_attrs(attrs: dict) -> str:
    return " ".join(f"{key}={value}" for key, value in attrs.items())


def render(core: NeuronCore, out_dir, *, name: str = "neuron_core", board_tops: bool = False,
           baud: int = 115200, instance: str = "u_core", prefix: str = "core_") -> dict[str, Path]:
    """Write the integration files of ``core`` into ``out_dir`` (created) and return them by
    kind: ``core``, ``axis``, ``inst``, ``pkg``, ``json``, ``icebreaker_pcf``, ``ulx3s_lpf``
    and, with ``board_tops``, ``icebreaker_top`` and ``ulx3s_top`` (the host-link top levels
    at ``baud``, with the board's clock).

    ``name`` is the core's Verilog module name (the wrapper is ``<name>_axis``, the package
    ``<name>_pkg``); ``instance`` and ``prefix`` name the instance and the wires of the
    instantiation template.
    """
    if not isinstance(core, NeuronCore):
        raise TypeError(f"core must be a NeuronCore, not {core!r}")
    import re
    for label, value in (("name", name), ("instance", instance), ("prefix", prefix)):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*" if label != "prefix"
                            else r"[A-Za-z0-9_]*", value):
            raise ValueError(f"{label} must be a Verilog identifier, not {value!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = _environment()
    description = core_description(core, name=name)
    streams = description["streams"]
    present = description["ports"]["targets"]
    context = dict(description)
    context.update(
        instance=instance, prefix=prefix,
        unused_inputs=[f"{s['axis']}_tdata[{s['tdata_width'] - 1}:{s['width']}]"
                       for s in streams if s["direction"] == "in" and s["tdata_width"] > s["width"]],
        # Every target the core's cmd.target field can address: codes from 16 on (per-neuron
        # decays and drive bias) exist only on cores whose field is 5 bits wide.
        target_bits=core.target_bits,
        all_targets=[{"name": t.name, "code": int(t), "present": t.name in present}
                     for t in Target if int(t) < (1 << core.target_bits)],
        status=[(s.name, int(s)) for s in Status],
    )

    from amaranth.back import verilog
    files = {}
    files["core"] = _write(out_dir / f"{name}.v",
                           verilog.convert(core, name=name, emit_src=False))
    files["axis"] = _write(out_dir / f"{name}_axis.v",
                           env.get_template("axis_wrapper.v.j2").render(context))
    files["inst"] = _write(out_dir / f"{name}_axis_inst.vh",
                           env.get_template("axis_inst.vh.j2").render(context))
    files["pkg"] = _write(out_dir / f"{name}_pkg.sv",
                          env.get_template("core_pkg.sv.j2").render(context))
    files["json"] = _write(out_dir / f"{name}.json",
                           json.dumps(description, indent=2, sort_keys=True) + "\n")
    for board, spec in BOARDS.items():
        pins = board_pins(board)
        for pin in pins:
            pin["pullup"] = pin["attrs"].get("PULLUP") == "1"
            pin["attrs"] = _lpf_attrs(pin["attrs"])
        clock = next(pin for pin in pins if pin["port"] == "clk")
        text = env.get_template(f"{spec.constraint_file}.j2").render(
            top=f"{board}_top", pins=pins,
            clock={"port": "clk", "mhz": f"{clock['clock_hz'] / 1e6:g}"})
        suffix = spec.constraint_file.rsplit(".", 1)[1]
        files[f"{board}_{suffix}"] = _write(out_dir / spec.constraint_file, text)
    if board_tops:
        from boards.top import board_top_verilog
        for board in BOARDS:
            files[f"{board}_top"] = _write(out_dir / f"{board}_top.v",
                                           board_top_verilog(core, board, baud=baud))
    return files
