"""Event-camera input: round trips of every format on synthetic recordings, every refusal of a
malformed or truncated file (file, offset, problem), the synthetic generators, the pixel
mapping and the time binning into input counts, and the path into the network."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from neurohw.events import (
    FORMATS,
    ClippedCountsError,
    ClippedCountsWarning,
    EventFileError,
    Events,
    SensorMapping,
    bin_events,
    blinking_spots,
    merge,
    moving_edges,
    noise,
    read_aedat4,
    read_events,
    read_evt2,
    read_evt3,
    synthetic_recording,
    write_aedat4,
    write_events,
    write_evt2,
    write_evt3,
)
from neurohw.events.aedat4 import MAGIC


@pytest.fixture(scope="module")
def recording():
    return synthetic_recording(40, 30, duration_us=30_000_000 // 300, seed=3)


def wrapped_recording():
    """Timestamps past 2**24 us (EVT 3.0 time wraps) and dense rows (EVT 3.0 vectors)."""
    rng = np.random.default_rng(5)
    n = 3000
    sparse = Events(
        np.sort(rng.integers(0, 40_000_000, n)),
        rng.integers(0, 64, n),
        rng.integers(0, 48, n),
        rng.integers(0, 2, n),
        64,
        48,
    )
    xs = np.array([0, 1, 2, 3, 5, 7, 8, 9, 10, 11, 12, 13, 14, 20, 21, 22, 23, 30, 30, 31, 63])
    dense = Events(
        np.full(len(xs), 17_000_123), xs, np.full(len(xs), 47), np.ones(len(xs), int), 64, 48
    )
    return merge(sparse, dense)


# ---------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip(fmt, recording, tmp_path):
    path = write_events(tmp_path / f"rec.{fmt}", recording, fmt)
    back = read_events(path)
    assert back.same_as(recording)
    assert back.meta["format"] == fmt
    if fmt == "aedat4":  # AEDAT 4 keeps the order too
        assert np.array_equal(back.t, recording.t) and np.array_equal(back.x, recording.x)


@pytest.mark.parametrize("fmt", ["evt2", "evt3"])
def test_round_trip_wrapping_timestamps_and_vectors(fmt, tmp_path):
    events = wrapped_recording()
    path = write_events(tmp_path / "rec.raw", events, fmt)
    back = read_events(path)
    assert back.same_as(events) and back.t.max() > 1 << 24
    if fmt == "evt3":
        words = np.frombuffer(path.read_bytes()[path.read_bytes().index(b"% end\n") + 6 :], "<u2")
        kinds = set((words >> 12).tolist())
        assert {0x0, 0x2, 0x3, 0x4, 0x5, 0x6, 0x8} <= kinds


def test_aedat4_lz4_round_trip_and_reference_decoder(recording, tmp_path):
    for compression in ("none", "lz4"):
        path = write_aedat4(
            tmp_path / f"{compression}.aedat4",
            recording,
            compression=compression,
            packet_events=500,
        )
        back = read_aedat4(path)
        assert back.same_as(recording) and back.meta["compression"] == compression
        assert back.meta["packets"] == -(-len(recording) // 500)
    # The maintained iniVation-format decoder (PyPI `aedat`, a dev dependency) reads our files.
    import aedat

    for compression in ("none", "lz4"):
        decoder = aedat.Decoder(str(tmp_path / f"{compression}.aedat4"))
        assert decoder.id_to_stream() == {0: {"type": "events", "width": 40, "height": 30}}
        packets = [p["events"] for p in decoder if "events" in p]
        got = np.concatenate(packets)
        assert np.array_equal(got["t"].astype(np.int64), recording.t)
        assert np.array_equal(got["x"].astype(np.int64), recording.x)
        assert np.array_equal(got["y"].astype(np.int64), recording.y)
        assert np.array_equal(got["on"].astype(np.int64), recording.p)


def test_empty_recordings(tmp_path):
    empty = Events.empty(8, 4)
    for fmt in FORMATS:
        back = read_events(write_events(tmp_path / f"e.{fmt}", empty, fmt))
        assert len(back) == 0 and (back.width, back.height) == (8, 4)


def test_aedat4_skips_other_streams(recording, tmp_path):
    from neurohw.events.aedat4 import _info_xml, _io_header

    path = write_aedat4(tmp_path / "a.aedat4", recording, packet_events=400)
    data = path.read_bytes()
    packets = data[18 + struct.unpack_from("<i", data, 14)[0] :]
    # Describe a second stream (id 1, triggers) and add one of its packets.
    info = _info_xml(0, 40, 30, "none", "test")
    trigger = (
        '        <node name="1" path="/x/1/">\n'
        '            <attr key="typeIdentifier" type="string">TRIG</attr>\n'
        "        </node>\n"
    )
    at = info.rindex("    </node>\n</dv>")
    header = _io_header(0, info[:at] + trigger + info[at:])
    other = struct.pack("<ii", 1, 12) + struct.pack("<I", 8) + b"\0\0\0\0TRIG"
    path.write_bytes(MAGIC + struct.pack("<i", len(header)) + header + other + packets)
    back = read_aedat4(path)
    assert back.same_as(recording) and back.meta["skipped_packets"] == 1
    # Two event streams: the reader wants to be told which.
    two = info[:at] + trigger.replace("TRIG", "EVTS") + info[at:]
    two = two.replace(
        '<attr key="typeIdentifier" type="string">EVTS</attr>\n        </node>',
        '<attr key="typeIdentifier" type="string">EVTS</attr>\n'
        '            <node name="info" path="/x/1/info/">\n'
        '                <attr key="sizeX" type="int">40</attr>\n'
        '                <attr key="sizeY" type="int">30</attr>\n'
        "            </node>\n        </node>",
    )
    header = _io_header(0, two)
    path.write_bytes(MAGIC + struct.pack("<i", len(header)) + header + packets)
    error = error_for(read_aedat4, path)
    assert error.problem == "2 polarity event streams ([0, 1]); pass stream_id"
    assert read_aedat4(path, stream_id=0).same_as(recording)
    assert len(read_aedat4(path, stream_id=1)) == 0


# ---------------------------------------------------------------------------------------------
# Refusals: each names the file, the offset and the problem


def error_for(reader, path, **options):
    with pytest.raises(EventFileError) as info:
        reader(path, **options)
    error = info.value
    assert str(error).startswith(f"{path}: at byte {error.offset}: ")
    return error


@pytest.fixture
def aedat_file(recording, tmp_path):
    return write_aedat4(tmp_path / "a.aedat4", recording, packet_events=300)


def test_aedat4_errors(aedat_file, tmp_path):
    data = aedat_file.read_bytes()
    bad = tmp_path / "bad.aedat4"

    bad.write_bytes(b"#!AER-DAT3.1\r\n" + data[14:])
    assert "not an AEDAT 4 file" in error_for(read_aedat4, bad).problem

    bad.write_bytes(data[:16])
    error = error_for(read_aedat4, bad)
    assert error.offset == 14 and "header length" in error.problem

    bad.write_bytes(data[:100])
    assert "header length" in error_for(read_aedat4, bad).problem

    header_size = struct.unpack_from("<i", data, 14)[0]
    packets = 18 + header_size
    # Truncated in a packet header, then in a packet body.
    bad.write_bytes(data[: packets + 5])
    error = error_for(read_aedat4, bad)
    assert error.offset == packets and error.problem == "truncated packet header: 5 of 8 bytes"
    bad.write_bytes(data[: packets + 100])
    error = error_for(read_aedat4, bad)
    assert (
        error.offset == packets
        and "packet of 4832 bytes truncated: 92 bytes remain" in error.problem
    )
    # Unknown stream id.
    broken = bytearray(data)
    struct.pack_into("<i", broken, packets, 7)
    bad.write_bytes(bytes(broken))
    assert "unknown stream id 7" in error_for(read_aedat4, bad).problem
    # Wrong identifier inside the packet.
    broken = bytearray(data)
    broken[packets + 8 + 8 : packets + 8 + 12] = b"FRME"
    bad.write_bytes(bytes(broken))
    error = error_for(read_aedat4, bad)
    assert error.offset == packets + 16 and "file identifier b'FRME'" in error.problem
    # A vector length that runs past the packet.
    broken = bytearray(data)
    struct.pack_into("<I", broken, packets + 8 + 28, 10**6)
    bad.write_bytes(bytes(broken))
    assert "runs past" in error_for(read_aedat4, bad).problem
    # An event outside the sensor.
    broken = bytearray(data)
    struct.pack_into("<h", broken, packets + 8 + 32 + 16 * 3 + 8, 999)
    bad.write_bytes(bytes(broken))
    error = error_for(read_aedat4, bad)
    assert (
        error.offset == packets + 8 + 32 + 48
        and "event 3" in error.problem
        and "outside the 40x30 sensor" in error.problem
    )
    # Broken XML, unknown compression.
    broken = bytearray(data)
    at = broken.index(b"<dv")
    broken[at : at + 3] = b"<<<"
    bad.write_bytes(bytes(broken))
    assert "infoNode is not XML" in error_for(read_aedat4, bad).problem
    broken = bytearray(data)
    struct.pack_into("<i", broken, 18 + 28, 9)
    bad.write_bytes(bytes(broken))
    assert "unknown compression 9" in error_for(read_aedat4, bad).problem


def test_aedat4_compressed_errors(recording, tmp_path, monkeypatch):
    path = write_aedat4(tmp_path / "c.aedat4", recording, compression="lz4", packet_events=300)
    data = bytearray(path.read_bytes())
    packets = 18 + struct.unpack_from("<i", data, 14)[0]
    data[packets + 8 + 20 : packets + 8 + 30] = bytes(10)
    bad = tmp_path / "bad.aedat4"
    bad.write_bytes(bytes(data))
    assert "LZ4 packet does not decompress" in error_for(read_aedat4, bad).problem
    # ZSTD files: refused with a clear error when zstandard is not installed.
    data = bytearray(path.read_bytes())
    struct.pack_into("<i", data, 18 + 28, 3)
    bad.write_bytes(bytes(data))
    import builtins

    real_import = builtins.__import__

    def no_zstd(name, *args, **kwargs):
        if name == "zstandard":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_zstd)
    error = error_for(read_aedat4, bad)
    assert (
        error.offset == packets
        and "ZSTD-compressed" in error.problem
        and "zstandard" in error.problem
    )

    def no_lz4(name, *args, **kwargs):
        if name == "lz4.frame" or name == "lz4":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_lz4)
    error = error_for(read_aedat4, path)
    assert "LZ4-compressed and the lz4 package is not installed" in error.problem


def test_evt2_errors(recording, tmp_path):
    path = write_evt2(tmp_path / "a.raw", recording)
    data = path.read_bytes()
    start = data.index(b"% end\n") + 6
    bad = tmp_path / "bad.raw"

    bad.write_bytes(data[: start + 4 * 10 + 3])
    error = error_for(read_evt2, bad)
    assert (
        error.offset == start + 40
        and error.problem == "truncated: 3 trailing byte(s) do not make a 32-bit word"
    )

    broken = bytearray(data)
    struct.pack_into("<I", broken, start + 8, 0x5 << 28)
    bad.write_bytes(bytes(broken))
    error = error_for(read_evt2, bad)
    assert error.offset == start + 8 and error.problem == "unknown EVT 2.0 word type 0x5"

    broken = bytearray(data)
    struct.pack_into("<I", broken, start, 0x1 << 28)  # the first time high -> a CD event
    bad.write_bytes(bytes(broken))
    error = error_for(read_evt2, bad)
    assert error.offset == start and error.problem == "CD event before the first EV_TIME_HIGH"

    broken = bytearray(data)
    struct.pack_into("<I", broken, start + 4, (0x1 << 28) | (100 << 11) | 5)
    bad.write_bytes(bytes(broken))
    error = error_for(read_evt2, bad)
    assert error.offset == start + 4 and "x=100, y=5 outside the 40x30 sensor" in error.problem

    bad.write_bytes(
        data.replace(b"% format EVT2;height=30;width=40\n", b"").replace(b"% geometry 40x30\n", b"")
    )
    assert "no sensor size" in error_for(read_evt2, bad).problem
    assert len(read_evt2(bad, width=40, height=30)) == len(recording)

    bad.write_bytes(b"% evt 2.0\n% geometry 40x30\n% end")
    assert "truncated header" in error_for(read_evt2, bad).problem
    assert "format EVT2, not EVT3" in error_for(read_evt3, path).problem


def test_evt3_errors(tmp_path):
    events = wrapped_recording()
    path = write_evt3(tmp_path / "a.raw", events)
    data = path.read_bytes()
    start = data.index(b"% end\n") + 6
    words = np.frombuffer(data[start:], "<u2")
    bad = tmp_path / "bad.raw"

    bad.write_bytes(data[: start + 11])
    assert (
        error_for(read_evt3, bad).problem
        == "truncated: 1 trailing byte(s) do not make a 16-bit word"
    )

    def patched(index, word):
        broken = bytearray(data)
        struct.pack_into("<H", broken, start + 2 * index, word)
        bad.write_bytes(bytes(broken))
        return error_for(read_evt3, bad)

    error = patched(3, 0x9000)
    assert error.offset == start + 6 and error.problem == "unknown EVT 3.0 word type 0x9"
    # Replace the leading time high / time low / y address with an event word.
    first_x = int(np.flatnonzero(words >> 12 == 0x2)[0])
    assert patched(0, 0x2001).problem == "event word before the first EVT_TIME_HIGH"
    assert patched(1, 0x2001).problem == "event word before the first EVT_TIME_LOW"
    assert patched(2, 0x2001).problem == "event word before the first EVT_ADDR_Y"
    assert patched(first_x, 0x4FFF).problem == "vector word before the first VECT_BASE_X"
    error = patched(first_x, 0x2000 | 100)
    assert error.offset == start + 2 * first_x and "x=100" in error.problem


def test_read_events_errors(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"hello")
    error = error_for(read_events, bad)
    assert error.offset == 0 and "unknown recording format" in error.problem
    bad.write_bytes(b"% evt 4.0\n% end\n")
    assert "names neither EVT 2.0 nor EVT 3.0" in error_for(read_events, bad).problem
    with pytest.raises(
        ValueError,
        match=r"^format must be one of 'aedat4', 'evt2', 'evt3', "
        r"not 'dat'$",
    ):
        write_events(bad, Events.empty(2, 2), "dat")


def test_writers_refuse_what_formats_cannot_hold(tmp_path):
    big = Events([0], [3000], [0], [1], 4000, 10)
    with pytest.raises(ValueError, match=r"does not fit EVT's 11-bit coordinates"):
        write_evt2(tmp_path / "a.raw", big)
    late = Events([1 << 34], [0], [0], [1], 4, 4)
    with pytest.raises(ValueError, match=r"^timestamps must be below 2\*\*34 us"):
        write_evt3(tmp_path / "a.raw", late)


def test_events_validation():
    with pytest.raises(ValueError, match=r"^event 1 has x=5, outside 0\.\.3$"):
        Events([0, 1], [0, 5], [0, 0], [0, 1], 4, 4)
    with pytest.raises(ValueError, match=r"^events arrays differ in length"):
        Events([0, 1], [0], [0, 0], [0, 1], 4, 4)
    with pytest.raises(ValueError, match=r"^event 0 has p=2, outside 0\.\.1$"):
        Events([0], [0], [0], [2], 4, 4)
    with pytest.raises(ValueError, match=r"^width must be an integer in 1\.\.65536, not 0$"):
        Events([], [], [], [], 0, 4)
    with pytest.raises(ValueError, match=r"^merge needs at least one event stream$"):
        merge()


# ---------------------------------------------------------------------------------------------
# Synthetic generators


def test_moving_edges():
    e = moving_edges(10, 4, duration_us=10_000, speed=1000, bar=3)
    # speed 1000 px/s: the leading edge enters column c at c ms; 10 ms cover columns 0..9.
    on = e.take(e.p == 1)
    assert sorted(set(on.t.tolist())) == [c * 1000 for c in range(10)]
    assert all(sorted(on.x[on.t == c * 1000].tolist()) == [c] * 4 for c in range(10))
    off = e.take(e.p == 0)
    assert sorted(set(off.x.tolist())) == list(range(7)) and off.t.min() == 3000
    assert np.all(np.diff(e.t) >= 0)
    down = moving_edges(4, 10, duration_us=5000, speed=1000, direction="y", jitter_us=20)
    assert set(down.take(down.p == 1).y.tolist()) == set(range(5))
    with pytest.raises(ValueError, match=r"^direction must be 'x' or 'y', not 'z'$"):
        moving_edges(4, 4, duration_us=10, direction="z")


def test_blinking_spots_and_noise():
    e = blinking_spots(32, 32, duration_us=100_000, spots=2, radius=1, period_us=10_000, seed=4)
    assert np.all(np.diff(e.t) >= 0)
    on, off = e.take(e.p == 1), e.take(e.p == 0)
    assert abs(len(on) - len(off)) <= 2 * 5
    pixels = set(zip(on.x.tolist(), on.y.tolist()))
    assert len(pixels) <= 10
    # Each pixel blinks with the period: its ON times are 10 ms apart.
    x, y = next(iter(pixels))
    times = np.sort(on.t[(on.x == x) & (on.y == y)])
    assert set(np.diff(times).tolist()) <= {10_000}
    assert blinking_spots(8, 8, duration_us=1000, seed=1).same_as(
        blinking_spots(8, 8, duration_us=1000, seed=1)
    )
    n = noise(16, 16, duration_us=500_000, rate_hz=1000, seed=2)
    assert len(n) == 500 and n.t.max() < 500_000
    with pytest.raises(ValueError, match=r"^on_us=5 must be below period_us=5$"):
        blinking_spots(8, 8, duration_us=100, period_us=5, on_us=5)


# ---------------------------------------------------------------------------------------------
# Mapping and binning


def test_sensor_mapping():
    m = SensorMapping(10, 7, downsample=(3, 2), polarity="split")
    assert m.grid == (4, 4) and m.size == 32
    assert m.line_of(0, 0, 0) == 0 and m.line_of(0, 0, 1) == 1
    assert m.line_of(9, 6, 1) == 2 * (3 * 4 + 3) + 1
    assert m.line_of(5, 3, 0) == 2 * (1 * 4 + 1)
    merged = SensorMapping(10, 7, downsample=2, polarity="merge")
    assert merged.size == 20 and merged.line_of(9, 6, 1) == merged.line_of(9, 6, 0) == 19
    on = SensorMapping(10, 7, polarity="on")
    assert on.size == 70 and on.line_of(3, 2, 0) is None and on.line_of(3, 2, 1) == 23
    with pytest.raises(
        ValueError,
        match=r"^polarity must be one of 'split', 'merge', 'on', "
        r"'off', not 'both'$",
    ):
        SensorMapping(4, 4, polarity="both")
    with pytest.raises(
        ValueError,
        match=r"^downsample fx must be an integer of at least 1, "
        r"not 0$",
    ):
        SensorMapping(4, 4, downsample=0)
    with pytest.raises(ValueError, match=r"^events of a 4x4 sensor, mapping for 10x7$"):
        m.lines(Events.empty(4, 4))


def test_binning_policy():
    # Windows of 100 us from t0 = 1000, 3 steps per sample.
    t = [1000, 1099, 1100, 1150, 1299, 1300, 1650, 999, 5000]
    x = [0, 0, 0, 1, 0, 0, 1, 0, 1]
    events = Events(t, x, [0] * 9, [1, 1, 1, 0, 1, 1, 1, 1, 1], 2, 1)
    m = SensorMapping(2, 1, polarity="split")
    binned = bin_events(events, m, window_us=100, steps=3, batch=2, t0=1000, max_count=5)
    c = binned.counts
    assert c.shape == (3, 2, 4)
    assert c[0, 0].tolist() == [0, 2, 0, 0]  # t = 1000, 1099: line 1 (x 0, ON)
    assert c[1, 0].tolist() == [0, 1, 1, 0]  # 1100 (x0 ON), 1150 (x1 OFF)
    assert c[2, 0].tolist() == [0, 1, 0, 0]  # 1299
    assert c[0, 1].tolist() == [0, 1, 0, 0]  # 1300 starts sample 1
    assert c[:, 1].sum() == 1  # 1650 and 5000: after the end (1600)
    r = binned.report
    assert (r.events, r.binned, r.before_start, r.after_end, r.clipped) == (9, 6, 1, 2, 0)
    assert r.delivered == 6 and r.batch == 2
    # Default t0 and batch cover every event.
    auto = bin_events(events, m, window_us=100, steps=3, max_count=5)
    assert auto.report.t0 == 999 and auto.report.after_end == 0 and auto.report.before_start == 0
    assert auto.report.batch == (5000 - 999) // 300 + 1
    assert auto.counts.sum() == 9


def test_binning_clipping_is_reported_never_silent():
    events = Events([0, 1, 2, 3, 10], [0] * 5, [0] * 5, [1] * 5, 1, 1)
    m = SensorMapping(1, 1, polarity="merge")
    with pytest.warns(
        ClippedCountsWarning,
        match=r"clipped 2 in 1 cell\(s\) \(peak count 4 > "
        r"max_count 2\)",
    ):
        binned = bin_events(events, m, window_us=5, steps=2, max_count=2)
    assert binned.counts[:, 0, 0].tolist() == [2, 0] and binned.counts[0, 1, 0] == 1
    assert binned.report.clipped == 2 and binned.report.delivered == 3
    with pytest.raises(ClippedCountsError, match=r"clipped 2"):
        bin_events(events, m, window_us=5, steps=2, max_count=2, on_clip="raise")
    quiet = bin_events(events, m, window_us=5, steps=2, max_count=2, on_clip="report")
    assert quiet.report.clipped == 2
    filtered = bin_events(events, SensorMapping(1, 1, polarity="off"), window_us=5, steps=2)
    assert filtered.report.filtered == 5 and filtered.counts.sum() == 0


def test_event_camera_path_into_the_network(tmp_path):
    """A recording in each format -> the same counts -> neurohw.network.simulate and the
    host's event words."""
    from neurohw.model import Decay, NeuronParams
    from neurohw.network import (
        CoreCapacity,
        InputGroup,
        Network,
        Population,
        Projection,
        map_network,
        simulate,
    )
    from neurohw.network.host_events import encode_samples

    events = synthetic_recording(32, 24, duration_us=40_000, seed=9)
    mapping = SensorMapping(32, 24, downsample=4, polarity="split")
    counts = None
    for fmt in FORMATS:
        back = read_events(write_events(tmp_path / f"r.{fmt}", events, fmt))
        binned = bin_events(back, mapping, window_us=2000, steps=10, max_count=7, on_clip="report")
        if counts is None:
            counts = binned
        assert np.array_equal(binned.counts, counts.counts)
    assert counts.counts.shape == (10, 2, mapping.size)
    params = NeuronParams(
        n_currents=0,
        v_width=16,
        v_overflow="saturate",
        v_decay=Decay.none(),
        threshold=20,
        reset="zero",
    )
    rng = np.random.default_rng(0)
    net = Network(
        inputs=[InputGroup("dvs", mapping.size, max_count=7)],
        populations=[Population("p", 8, params)],
        projections=[Projection("dvs", "p", rng.integers(0, 4, (mapping.size, 8)))],
        outputs=["p"],
    )
    trace = simulate(net, counts.inputs("dvs"))
    assert trace.spikes["p"].shape == (10, 2, 8) and trace.spikes["p"].sum() > 0
    plan = map_network(net, capacity=CoreCapacity(max_axons=4096))
    words = encode_samples(plan, counts.inputs("dvs"))
    spikes = sum(1 for w in words if plan.fmt.unpack(w).kind == 0)
    assert spikes == int((counts.counts > 0).sum())
