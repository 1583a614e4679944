"""The boards neurohw builds for: each board's amaranth-boards platform, the resources wired to
the board top level's ports, and their pins (the one place board knowledge lives: the board tops
and builds in ``boards/`` and the constraint files of :func:`neurohw.templates.render` read it).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BoardSpec", "BOARDS", "check_board", "board_pins"]


@dataclass(frozen=True)
class BoardSpec:
    """A board of the host link: its amaranth-boards platform and the resources wired to the
    top level's ports ``clk``, ``button`` (reset), ``uart_rx``, ``uart_tx`` and ``led[0..1]``."""

    name: str
    platform: str  # "module:Class" in amaranth_boards
    clock: tuple[str, int]
    button: tuple[str, int]
    uart: tuple[str, int]
    leds: tuple[tuple[str, int], ...]
    constraint_file: str  # file name written by render()
    device: str  # synthesis device name of neurohw.flows.synth, or "gowin" (board build only)
    # Gowin boards: the die that nextpnr-himbaechel (--vopt family=) and gowin_pack (-d) take;
    # the GW1NR-9C of the Tang Nano 9K is a GW1N-9C die with stacked PSRAM.
    gowin_die: str = ""
    # The fastest UART rate of the host link that the board's clock divides to within 2 % and
    # its USB-UART bridge generates (docs/integration.md, "Link rate"): ``--baud max``.
    max_baud: int = 115200

    def platform_class(self):
        import importlib

        module, cls = self.platform.split(":")
        return getattr(importlib.import_module(module), cls)


BOARDS: dict[str, BoardSpec] = {
    "icebreaker": BoardSpec(
        "icebreaker",
        "amaranth_boards.icebreaker:ICEBreakerPlatform",
        ("clk12", 0),
        ("button", 0),
        ("uart", 0),
        (("led", 0), ("led", 1)),
        "icebreaker.pcf",
        "ice40-up5k",
        max_baud=3_000_000,  # FT2232H, 12 MHz / 4
    ),
    "ulx3s": BoardSpec(
        "ulx3s",
        "amaranth_boards.ulx3s:ULX3S_85F_Platform",
        ("clk25", 0),
        ("button_fire", 0),
        ("uart", 0),
        (("led", 0), ("led", 1)),
        "ulx3s.lpf",
        "ecp5-85k",
        max_baud=1_000_000,  # FT231X; 3 Mbaud would need 25 MHz / 8.33 (8 is 4.2 % off)
    ),
    "tang_nano_9k": BoardSpec(
        "tang_nano_9k",
        "amaranth_boards.tang_nano_9k:TangNano9kPlatform",
        ("clk27", 0),
        ("button", 0),
        ("uart", 0),
        (("led", 0), ("led", 1)),
        "tang_nano_9k.cst",
        "gowin",
        gowin_die="GW1N-9C",
        max_baud=3_000_000,  # 27 MHz / 9
    ),
    "tang_primer_20k": BoardSpec(
        "tang_primer_20k",
        "amaranth_boards.tang_primer_20k:TangPrimer20kDockPlatform",
        ("clk27", 0),
        ("button", 0),
        ("uart", 0),
        (("led", 0), ("led", 1)),
        "tang_primer_20k.cst",
        "gowin",
        gowin_die="GW2A-18C",
        max_baud=3_000_000,  # 27 MHz / 9
    ),
}

_PORT_COMMENTS = {
    "clk": "board clock",
    "button": "reset while pressed",
    "uart_rx": "UART from the host (FTDI TX)",
    "uart_tx": "UART to the host (FTDI RX)",
    "led[0]": "toggles at every completed step",
    "led[1]": "error: a dropped event, a lost UART byte or a framing error",
}


def check_board(board: str) -> BoardSpec:
    """The spec of ``board``; ``ValueError`` naming the boards for any other name."""
    if board not in BOARDS:
        allowed = ", ".join(repr(name) for name in BOARDS)
        raise ValueError(f"board must be one of {allowed}, not {board!r}")
    return BOARDS[board]


def board_pins(board: str) -> list[dict]:
    """The pins of the host-link top level on ``board``, from amaranth-boards.

    One dict per port bit: ``port`` (``clk``, ``button``, ``uart_rx``, ``uart_tx``, ``led[0]``,
    ``led[1]``), ``pin``, ``dir`` (``"i"``/``"o"``), ``invert`` (the board's signal is active
    low), ``attrs`` (the resource's I/O attributes) and, for ``clk``, ``clock_hz``.
    """
    spec = check_board(board)
    platform = spec.platform_class()()

    def pin(port, resource, number, subsignal=None):
        res = platform.lookup(resource, number)
        ios = res.ios
        if subsignal is not None:
            ios = [io for io in ios if getattr(io, "name", None) == subsignal][0].ios
        [pins] = ios
        [location] = pins.names
        return {
            "port": port,
            "pin": str(location),
            "dir": pins.dir,
            "invert": bool(pins.invert),
            "attrs": dict(sorted((str(k), str(v)) for k, v in res.attrs.items())),
            "clock_hz": float(res.clock.frequency) if res.clock is not None else None,
            "comment": _PORT_COMMENTS[port],
        }

    pins = [
        pin("clk", *spec.clock),
        pin("button", *spec.button),
        pin("uart_rx", *spec.uart, "rx"),
        pin("uart_tx", *spec.uart, "tx"),
    ]
    # The UART resource's attributes sit on the resource, not the subsignal.
    pins += [pin(f"led[{i}]", *led) for i, led in enumerate(spec.leds)]
    for entry in pins:
        polarity = "active low" if entry["invert"] else "active high"
        if entry["port"] in ("button", "led[0]", "led[1]"):
            entry["comment"] += f" ({polarity} on the board)"
    return pins
