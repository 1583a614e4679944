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

The templates are Jinja2 files in the repository's ``rtl_templates/``, installed as the package
data of ``neurohw.rtl_templates`` and read with :mod:`importlib.resources`. Rendering is
deterministic: the same core gives byte-identical files (no dates, no paths). Pin locations come
from the board specs in ``boards/specs.py`` (read from ``amaranth-boards``), so the constraint
files and the Amaranth board builds (``boards/``) use the same pins. ``docs/integration.md`` describes the wrapper's protocol.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from .boards.specs import BOARDS, board_pins
from .hw.core import NeuronCore, Status, Target
from .hw.description import axis_streams, core_description

# core_description and axis_streams live in neurohw.hw.description (the host library uses them
# too) and are re-exported here, where the templates use them.
__all__ = ["TEMPLATE_DIR", "render", "core_description", "axis_streams"]

# A Traversable (a Path unless neurohw is imported from a zip file).
TEMPLATE_DIR = resources.files("neurohw.rtl_templates")


def _environment():
    try:
        import jinja2
    except ImportError as error:  # pragma: no cover - jinja2 is a dependency
        raise ImportError("neurohw.templates needs jinja2 (`pip install jinja2`)") from error

    def source(name):
        # Read through importlib.resources, so the templates load from any installed form.
        template = TEMPLATE_DIR / name
        if not template.is_file():
            raise jinja2.TemplateNotFound(
                f"{name} (not among neurohw's RTL templates in {TEMPLATE_DIR})"
            )
        return template.read_text(encoding="utf-8")

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(source),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def _write(path: Path, text: str) -> Path:
    # Rewrite only on change: simulators and make compare timestamps.
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def _lpf_attrs(attrs: dict) -> str:
    return " ".join(f"{key}={value}" for key, value in attrs.items())


def render(
    core: NeuronCore,
    out_dir,
    *,
    name: str = "neuron_core",
    board_tops: bool = False,
    baud: int = 115200,
    instance: str = "u_core",
    prefix: str = "core_",
) -> dict[str, Path]:
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
        if not re.fullmatch(
            r"[A-Za-z_][A-Za-z0-9_]*" if label != "prefix" else r"[A-Za-z0-9_]*", value
        ):
            raise ValueError(f"{label} must be a Verilog identifier, not {value!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = _environment()
    description = core_description(core, name=name)
    streams = description["streams"]
    present = description["ports"]["targets"]
    context = dict(description)
    context.update(
        instance=instance,
        prefix=prefix,
        unused_inputs=[
            f"{s['axis']}_tdata[{s['tdata_width'] - 1}:{s['width']}]"
            for s in streams
            if s["direction"] == "in" and s["tdata_width"] > s["width"]
        ],
        # Every target the core's cmd.target field can address: codes from 16 on (per-neuron
        # decays and drive bias) exist only on cores whose field is 5 bits wide.
        target_bits=core.target_bits,
        all_targets=[
            {"name": t.name, "code": int(t), "present": t.name in present}
            for t in Target
            if int(t) < (1 << core.target_bits)
        ],
        status=[(s.name, int(s)) for s in Status],
    )

    from amaranth.back import verilog

    files = {}
    files["core"] = _write(out_dir / f"{name}.v", verilog.convert(core, name=name, emit_src=False))
    files["axis"] = _write(
        out_dir / f"{name}_axis.v", env.get_template("axis_wrapper.v.j2").render(context)
    )
    files["inst"] = _write(
        out_dir / f"{name}_axis_inst.vh", env.get_template("axis_inst.vh.j2").render(context)
    )
    files["pkg"] = _write(
        out_dir / f"{name}_pkg.sv", env.get_template("core_pkg.sv.j2").render(context)
    )
    files["json"] = _write(
        out_dir / f"{name}.json", json.dumps(description, indent=2, sort_keys=True) + "\n"
    )
    for board, spec in BOARDS.items():
        pins = board_pins(board)
        for pin in pins:
            pin["pullup"] = pin["attrs"].get("PULLUP") == "1"
            pin["attrs"] = _lpf_attrs(pin["attrs"])
        clock = next(pin for pin in pins if pin["port"] == "clk")
        text = env.get_template(f"{spec.constraint_file}.j2").render(
            top=f"{board}_top",
            pins=pins,
            clock={"port": "clk", "mhz": f"{clock['clock_hz'] / 1e6:g}"},
        )
        suffix = spec.constraint_file.rsplit(".", 1)[1]
        files[f"{board}_{suffix}"] = _write(out_dir / spec.constraint_file, text)
    if board_tops:
        from .boards.top import board_top_verilog

        for board in BOARDS:
            files[f"{board}_top"] = _write(
                out_dir / f"{board}_top.v", board_top_verilog(core, board, baud=baud)
            )
    return files
