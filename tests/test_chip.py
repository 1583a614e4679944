"""``neurohw.Chip``: one chip object (options validated once, one construction site of
``SystemTop``, one synthesis path), and inputs validated once into ``Samples``."""

from __future__ import annotations

import hashlib
import json
import re
import time

import numpy as np
import pytest
from amaranth.back import verilog

from neurohw import Chip
from neurohw.cli import main
from neurohw.flows.synth import SynthesisError, SynthReport
from neurohw.hw.system import SYSTEM_TOPLEVEL, SystemTop
from neurohw.model import Decay, NeuronParams
from neurohw.network import (
    CoreCapacity,
    InputGroup,
    Network,
    NetworkError,
    Population,
    Projection,
    Samples,
    check_samples,
    map_network,
    simulate_samples,
)
from neurohw.network import system as network_system
from neurohw.toolchain import available_simulators


def tiny_network() -> Network:
    rng = np.random.default_rng(3)
    params = NeuronParams(n_currents=0, v_width=12, v_decay=Decay.shift(3), threshold=20)
    return Network(
        inputs=[InputGroup("x", 6)],
        populations=[Population("h", 5, params), Population("o", 3, params)],
        projections=[
            Projection("x", "h", rng.integers(-4, 20, size=(6, 5))),
            Projection("h", "o", rng.integers(-4, 25, size=(5, 3))),
        ],
        outputs=["o"],
    )


def tiny_plan():
    return map_network(tiny_network(), capacity=CoreCapacity(max_neurons=3))


def tiny_inputs(steps=4, samples=2, seed=0):
    rng = np.random.default_rng(seed)
    return {"x": (rng.random((steps, samples, 6)) < 0.6).astype(np.int64)}


class TestChip:
    def test_init(self):
        plan = tiny_plan()
        chip = Chip(plan)
        assert chip.plan is plan
        assert chip.debug is True
        assert chip.router_fifo_depth == 2
        chip = Chip(plan, debug=False, router_fifo_depth=4)
        assert chip.debug is False and chip.router_fifo_depth == 4
        assert repr(chip) == f"Chip({plan.n_cores} cores, debug=False, router_fifo_depth=4)"

    def test_init_network(self):
        chip = Chip(tiny_network(), lanes=2, capacity=CoreCapacity(max_neurons=3), topology="mesh")
        assert all(core.lanes == 2 for core in chip.plan.cores)
        assert type(chip.plan.topology).__name__ == "MeshTopology"

    def test_init_wrong_plan(self):
        with pytest.raises(
            TypeError, match=re.escape("plan must be a ChipPlan or a Network, not 'plan'")
        ):
            Chip("plan")

    @pytest.mark.parametrize(
        "option, value",
        [("lanes", 2), ("topology", "star"), ("capacity", CoreCapacity()), ("graded_spikes", True)],
    )
    def test_init_wrong_mapping_option(self, option, value):
        with pytest.raises(
            ValueError,
            match=re.escape(
                f"{option}={value!r} needs a Network to map: a ChipPlan is already mapped "
                f"(map the network with {option}= instead)"
            ),
        ):
            Chip(tiny_plan(), **{option: value})

    def test_init_wrong_debug(self):
        with pytest.raises(TypeError, match=re.escape("debug must be True or False, not 1")):
            Chip(tiny_plan(), debug=1)

    @pytest.mark.parametrize("depth", [0, -1, 2.0, True, "2"])
    def test_init_wrong_router_fifo_depth(self, depth):
        with pytest.raises(
            ValueError,
            match=re.escape(f"router_fifo_depth must be a positive integer, not {depth!r}"),
        ):
            Chip(tiny_plan(), router_fifo_depth=depth)

    def test_verilog(self, tmp_path):
        plan = tiny_plan()
        for debug in (True, False):
            chip = Chip(plan, debug=debug, router_fifo_depth=3)
            expected = verilog.convert(
                SystemTop(plan, debug=debug, router_fifo_depth=3),
                name=SYSTEM_TOPLEVEL,
                emit_src=False,
            )
            assert chip.verilog(tmp_path / "system.v") == expected
            assert (tmp_path / "system.v").read_text() == expected
            assert chip.design_hash() == hashlib.sha256(expected.encode()).hexdigest()
            ports = re.search(r"module neurohw_system\(([^;]*)\);", expected).group(1)
            assert ("dbg_cmd__valid" in ports) is debug
        assert Chip(plan).design_hash() != Chip(plan, debug=False).design_hash()

    def test_simulate(self):
        chip = Chip(tiny_plan())
        inputs = tiny_inputs()
        trace = chip.simulate(inputs)
        expected = simulate_samples(tiny_network(), inputs)
        for name in expected.spikes:
            assert np.array_equal(trace.spikes[name], expected.spikes[name])

    def test_simulate_wrong_inputs(self):
        with pytest.raises(
            NetworkError,
            match=re.escape(
                "input 'x' has a spike count of 2; counts must be between 0 and the group's "
                "max_count=1"
            ),
        ):
            Chip(tiny_plan()).simulate({"x": np.full((2, 1, 6), 2)})

    def test_verify(self, tmp_path):
        simulators = available_simulators()
        if not simulators:
            pytest.skip("no HDL simulator installed (icarus or verilator)")
        chip = Chip(tiny_plan())
        inputs = tiny_inputs()
        result = chip.verify(inputs, simulator=simulators[0], build_dir=tmp_path / "sim")
        assert result.samples == 2 and result.steps == 4
        model = chip.simulate(inputs)
        assert np.array_equal(result.output_spikes["o"], model.spikes["o"])

    def test_synthesize_one_path(self, tmp_path, monkeypatch):
        """Chip.synthesize hands its own design to the one synthesis path."""
        from neurohw.flows import report

        seen = {}

        def fake(design, device, *, workdir, **options):
            seen["verilog"] = verilog.convert(design, name=SYSTEM_TOPLEVEL, emit_src=False)
            seen["device"] = device
            raise SynthesisError("not run")

        monkeypatch.setattr(report, "synthesize_design", fake)
        chip = Chip(tiny_plan(), debug=False)
        with pytest.raises(SynthesisError, match="not run"):
            chip.synthesize("ice40-up5k", workdir=tmp_path)
        assert seen == {"verilog": chip.verilog(), "device": "ice40-up5k"}

    def test_report(self, tmp_path):
        from neurohw.flows.report import estimate_cycles

        chip = Chip(tiny_plan())
        inputs = tiny_inputs()
        report = chip.report([], workdir=tmp_path, inputs=inputs)
        assert report.devices == []
        assert report.description == chip.description()
        assert report.description["design_sha256"] == chip.design_hash()
        expected = estimate_cycles(chip.plan, inputs)
        assert report.cycles_per_inference == expected.cycles_per_inference
        assert json.loads((tmp_path / "design_report.json").read_text())["design"] == "system"

    @pytest.mark.slow
    def test_synthesize_ice40(self, tmp_path):
        start = time.perf_counter()
        result = Chip(tiny_plan(), debug=False).synthesize("ice40-up5k", workdir=tmp_path)
        assert isinstance(result, SynthReport)
        assert result.luts > 0 and result.fmax_mhz
        print(
            f"tiny chip on iCE40UP5K: {result.luts} LUT4, {result.fmax_mhz:.1f} MHz, "
            f"{time.perf_counter() - start:.0f} s"
        )


class TestSamples:
    def test_checked_once(self):
        network = tiny_network()
        samples = check_samples(network, tiny_inputs())
        assert isinstance(samples, Samples)
        assert (samples.steps, samples.batch) == (4, 2)
        assert check_samples(network, samples) is samples
        assert not samples.counts["x"].flags.writeable
        padded = samples.padded(3)
        assert padded.steps == 7 and not padded.counts["x"][4:].any()
        assert samples.head(1).batch == 1

    def test_wrong_steps(self):
        network = tiny_network()
        samples = check_samples(network, tiny_inputs())
        with pytest.raises(NetworkError, match=re.escape("steps=5 but the inputs have 4 steps")):
            check_samples(network, samples, steps=5)

    def test_other_network_checks_again(self):
        samples = check_samples(tiny_network(), tiny_inputs())
        params = NeuronParams(n_currents=0, v_width=12, v_decay=Decay.shift(3), threshold=20)
        other = Network(
            inputs=[InputGroup("x", 5)],
            populations=[Population("o", 2, params)],
            projections=[Projection("x", "o", np.ones((5, 2), dtype=int))],
            outputs=["o"],
        )
        with pytest.raises(
            NetworkError,
            match=re.escape(
                "input 'x' must have shape (steps, batch, 5) or (steps, 5), not (4, 2, 6)"
            ),
        ):
            check_samples(other, samples)

    def test_verify_validates_once(self, tmp_path, monkeypatch):
        """Along a compile (model, RTL case, host encoding, plan model) the inputs are checked
        once: every later stage takes the Samples."""
        calls = []
        validate = network_system._validate

        def counted(*args):
            calls.append(args)
            return validate(*args)

        monkeypatch.setattr(network_system, "_validate", counted)
        out = tmp_path / "out"
        network = tiny_network()
        network.save(tmp_path / "net.npz")
        np.savez(tmp_path / "inputs.npz", **tiny_inputs())
        from neurohw.sim import system_case

        seen = []
        make_case = system_case.make_case

        def recording(*args, **kwargs):
            seen.append(args)
            return make_case(*args, **kwargs)

        monkeypatch.setattr(system_case, "make_case", recording)
        simulators = available_simulators()[:1]
        if not simulators:
            pytest.skip("no HDL simulator installed (icarus or verilator)")
        argv = [
            "compile",
            str(tmp_path / "net.npz"),
            "-o",
            str(out),
            "--inputs",
            str(tmp_path / "inputs.npz"),
            "--device",
            "none",
            "--simulator",
            simulators[0],
            "--verify-samples",
            "1",
        ]
        assert main(argv) == 0
        assert seen, "the RTL verification ran"
        assert len(calls) == 1


def test_compile_and_synth_report_one_design(tmp_path, monkeypatch, capsys):
    """`neurohw compile` and `neurohw synth` of one network with the same options build one
    design (the same Verilog), whichever --debug default or choice."""
    synthesized = []

    def recording(design, device, *, workdir, **options):
        text = verilog.convert(design, name=SYSTEM_TOPLEVEL, emit_src=False)
        synthesized.append(hashlib.sha256(text.encode()).hexdigest())
        raise SynthesisError("synthesis not run in this test")

    from neurohw.flows import report

    monkeypatch.setattr(report, "synthesize_design", recording)
    tiny_network().save(tmp_path / "net.npz")
    for flags in ([], ["--no-debug"]):
        synthesized.clear()
        compile_dir, synth_dir = tmp_path / f"compile{flags}", tmp_path / f"synth{flags}"
        assert (
            main(
                [
                    "compile",
                    str(tmp_path / "net.npz"),
                    "-o",
                    str(compile_dir),
                    "--verify-samples",
                    "0",
                    "--device",
                    "ice40-up5k",
                    *flags,
                ]
            )
            == 0
        )
        assert (
            main(
                [
                    "synth",
                    str(tmp_path / "net.npz"),
                    "-o",
                    str(synth_dir),
                    "--device",
                    "ice40-up5k",
                    *flags,
                ]
            )
            == 1  # the stand-in synthesis fails: the report is written, the command fails
        )
        assert capsys.readouterr().err == "neurohw: error: synthesis not run in this test\n"
        compiled = json.loads((compile_dir / "report.json").read_text())
        synth = json.loads((synth_dir / "synth.json").read_text())
        written = hashlib.sha256((compile_dir / "system.v").read_bytes()).hexdigest()
        assert compiled["verilog"]["design_sha256"] == written
        assert synth["description"]["design_sha256"] == written
        assert synthesized == [written, written]
        assert compiled["verilog"]["debug"] is synth["description"]["debug"] is (not flags)
