"""Compiled fast path of the neuron update (numba), bit-exact with :mod:`.reference`.

The reference model is the definition; this module is an optimization of it and must agree bit
for bit. It covers accumulation ``'sum'`` with a pre-summed drive (``StepInput(drive=...)``);
accumulation ``'per_event'`` stays on the numpy reference, where the order of events is explicit.

How it works
------------
For each configuration we generate the source of one Python function with every mode of
:class:`~.params.NeuronParams` resolved (overflow policies, decay kinds and roundings, input
timing, membrane update, comparison, reset mode, constants), compile it with ``numba.njit`` and
memoize it on that source text. The inner loop over neurons therefore holds no mode branches,
only integer arithmetic and selects, which LLVM vectorizes.

Arithmetic is in int32 when every intermediate provably fits (states of at most 28 bits,
multiply decays of at most 15 bits: Loihi, Xylo and snnTorch presets), in int64 otherwise. A
multiply decay in int32 splits ``x = q * 2^k + r`` (``0 <= r < 2^k``) and uses
``floor((x * f + a) / 2^k) = q * f + floor((r * f + a) / 2^k)``, where ``a`` is 0 (floor),
``2^(k-1)`` (nearest) or ``2^k - 1`` for negative ``x`` (toward zero), so no product exceeds
``2^31``. The state is stored compactly: ``v`` and ``i`` in the smallest of int8/int16/int32/int64
that holds their range (int32 for Loihi's 24-bit states), the refractory counter in uint16 (only
when the model or the initial state uses it), spike counts in uint8: 8 bytes per neuron for
Loihi without refractory period, at most 26 for any configuration.

Range argument (why int64 is exact). With ``W`` the widest state and ``k`` the widest multiply
decay, every state lies in ``[-2^(W-1), 2^(W-1)]`` and every decay keeps a value between 0 and
itself. A multiply decay's product is below ``2^(W-1+k)`` plus a rounding term below ``2^k``; every
sum (decayed value, currents or drive, bias) stays below ``2^(W+2)``, and ``x - low`` in a wrap
below ``2^(W+3)``. The drive is brought into range before it is used, without changing any
result: under wrap only ``(drive << input_shift) mod 2^W`` matters, so we keep its low
``W - input_shift`` bits; under saturation everything else in the sum is below ``2^W`` in
magnitude, so clamping the shifted drive to ``+-2^(W+1)`` saturates to the same side. Hence the
kernel is exact whenever ``W + max(k, 3) <= 62`` (:func:`supports`), for any integer drive,
including drives that do not fit int64 (they are reduced exactly with Python integers first).
This bound is slightly wider than the reference's own int64 bound (``reference._uses_int64``,
which also counts non-multiply decays); where the reference computes on Python objects, the two
paths still agree because both are exact, and :meth:`FastPopulation.state` returns object
arrays there too.

Entry points
------------
* :func:`supports` / :func:`unsupported_reason`: whether a configuration runs here.
* :class:`FastPopulation`: state of ``batch`` populations, ``step(drive)``, ``run(drive)``.
* :func:`run_fast`: like ``reference.run(params, drive=...)``, returning the same :class:`Trace`.
* :func:`simulate`: the public dispatcher. ``backend="auto"`` (default) uses the fast path when
  :func:`supports` holds, the input and state can be represented, and the population has at least
  ``AUTO_MIN_NEURONS`` (4096) neurons; otherwise the numpy reference. ``backend="numpy"`` always
  uses the reference; ``backend="numba"`` always uses the fast path and raises ``ValueError``
  naming the reason when it cannot.
"""

from __future__ import annotations

import linecache
import numbers
import threading

import numpy as np

from . import reference
from .params import (
    Accumulation,
    Comparison,
    DecayKind,
    InputTiming,
    MembraneUpdate,
    NeuronParams,
    Overflow,
    ResetMode,
    Rounding,
    state_range,
)
from .reference import (
    MAX_SPIKE_COUNT,
    RECORDABLE,
    NeuronState,
    Trace,
    check_record,
    check_weights,
    drive_4d,
)

__all__ = [
    "supports",
    "unsupported_reason",
    "FastPopulation",
    "run_fast",
    "simulate",
    "kernel_source",
    "AUTO_MIN_NEURONS",
    "INT64_SAFE_BITS",
]

#: ``backend="auto"`` uses the compiled path from this many neurons on.
AUTO_MIN_NEURONS = 4096
#: Intermediate values of the kernel are kept below ``2^INT64_SAFE_BITS`` in magnitude.
INT64_SAFE_BITS = 62
_MAX_REFRACTORY = (1 << 16) - 1


# ----------------------------------------------------------------------------------------------
# Which configurations run here


def _kernel_bits(params: NeuronParams) -> int:
    """Bits of the largest intermediate magnitude of the kernel (see the module docstring)."""
    widest = max(params.v_width, params.i_width if params.n_currents else 0)
    multiply_bits = [
        d.bits for d in (params.v_decay, *params.i_decay) if d.kind is DecayKind.MULTIPLY
    ]
    return widest + max([3, *multiply_bits])


def unsupported_reason(params: NeuronParams) -> str | None:
    """Why ``params`` cannot run on the compiled path, or None if it can."""
    if not isinstance(params, NeuronParams):
        raise TypeError(f"params must be NeuronParams, not {type(params).__name__}")
    if params.accumulation is not Accumulation.SUM:
        return (
            f"accumulation {params.accumulation.value!r} runs on the numpy reference only "
            "(the fast path takes a pre-summed drive, accumulation 'sum')"
        )
    if params.reset_delay:
        return (
            "reset_delay=True runs on the numpy reference only (the kernel keeps no "
            "pending spike count)"
        )
    if params.recheck_reset:
        return (
            "recheck_reset=True runs on the numpy reference only (the kernel has no "
            "re-test of the stored membrane)"
        )
    if params.effective_drive_bias_shift != params.input_shift:
        return (
            "a drive_bias_shift below input_shift runs on the numpy reference only (the "
            "kernel adds the drive bias in weight units)"
        )
    bits = _kernel_bits(params)
    if bits > INT64_SAFE_BITS:
        return (
            f"intermediate values need {bits} bits (widest state + max(widest multiply "
            f"decay bits, 3)), more than the {INT64_SAFE_BITS} bits the int64 kernel allows"
        )
    return None


def supports(params: NeuronParams) -> bool:
    """True if the compiled kernel is exact for ``params`` (any integer drive, any valid state)."""
    return unsupported_reason(params) is None


# ----------------------------------------------------------------------------------------------
# Code generation


def _storage_dtype(low: int, high: int):
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return np.dtype(dtype)
    raise AssertionError("state range beyond int64")  # excluded by supports()


def _narrow_ok(params: NeuronParams) -> bool:
    """True if every intermediate fits int32: states of at most 28 bits (sums stay below 2^30,
    ``x - low`` of a wrap below 2^31) and multiply decays of at most 15 bits (split products
    stay below 2^31, see :class:`_Arith`)."""
    widest = max(params.v_width, params.i_width if params.n_currents else 0)
    bits = [d.bits for d in (params.v_decay, *params.i_decay) if d.kind is DecayKind.MULTIPLY]
    return widest <= 28 and all(b <= 15 for b in bits)


class _Arith:
    """Emits integer expressions for the kernel, in int64 or in int32.

    numba types every integer operation at least as int64, so in int32 mode each operation is
    wrapped in ``I(...)`` (``np.int32``): the values provably fit, the truncation is exact, and
    LLVM then vectorizes in 32-bit lanes (twice the lanes, and no 64-bit multiplies).
    """

    def __init__(self, narrow: bool):
        self.narrow = narrow
        self.bits = 32 if narrow else 64

    def lit(self, value: int) -> str:
        return f"I({int(value)})" if self.narrow else f"({int(value)})"

    def op(self, a: str, operator: str, b: str) -> str:
        expr = f"{a} {operator} {b}"
        return f"I({expr})" if self.narrow else f"({expr})"

    def load(self, ref: str) -> str:
        return f"I({ref})" if self.narrow else f"np.int64({ref})"

    def clamp(self, expr: str, low: int, high: int) -> str:
        return f"min(max({expr}, {self.lit(low)}), {self.lit(high)})"

    def project(self, expr: str, width: int, overflow: Overflow) -> str:
        low, high = state_range(width, overflow)
        if overflow in (Overflow.SATURATE, Overflow.SATURATE_SYMMETRIC):
            return self.clamp(expr, low, high)
        # Both wraps: low + ((x - low) mod 2^W); the mask is the mod in two's complement.
        return self.wrap(expr, width, low)

    def wrap(self, expr: str, width: int, low: int) -> str:
        shifted = self.op(expr, "-", self.lit(low))
        return self.op(self.op(shifted, "&", self.lit((1 << width) - 1)), "+", self.lit(low))

    def decay(self, dst: str, src: str, spec, tmp: str, per_neuron: str | None = None) -> list[str]:
        """Lines assigning ``dst = decay(src)`` (not yet projected). ``per_neuron``: the
        expression that loads this neuron's constant (:func:`_decay_rows` prepares it: the
        factor of a multiply decay, the clamped shift of a shift decay) when it is per neuron."""
        if spec.kind is DecayKind.NONE:
            return [f"{dst} = {src}"]
        if spec.kind is DecayKind.SHIFT:
            # leak = x >> k, but at least 1 for positive x (Xylo). Shifting by more than the
            # state width gives the sign, as does shifting by bits - 1.
            k = (
                self.load(per_neuron)
                if per_neuron is not None
                else self.lit(min(spec.constant, self.bits - 1))
            )
            return [
                f"{tmp} = {self.op(src, '>>', k)}",
                f"{tmp} = {self.lit(1)} if ({tmp} == {self.lit(0)}) & ({src} > "
                f"{self.lit(0)}) else {tmp}",
                f"{dst} = {self.op(src, '-', tmp)}",
            ]
        k = spec.bits
        if per_neuron is not None:
            factor = self.load(per_neuron)
        else:
            if spec.factor == 1 << k:
                return [f"{dst} = {src}"]
            if spec.factor == 0:
                return [f"{dst} = {self.op(src, '*', self.lit(0))}"]
            factor = self.lit(spec.factor)
        mask = (1 << k) - 1
        if spec.rounding is Rounding.FLOOR:
            adjust = None
        elif spec.rounding is Rounding.NEAREST:
            adjust = self.lit(1 << (k - 1))
        else:
            # Toward zero = floor after adding 2^k - 1 to a negative product; factor > 0, so the
            # product has the sign of x.
            adjust = self.op(self.op(src, ">>", self.lit(self.bits - 1)), "&", self.lit(mask))
        if not self.narrow:
            product = self.op(src, "*", factor)
            if adjust is not None:
                product = self.op(product, "+", adjust)
            return [f"{dst} = {self.op(product, '>>', self.lit(k))}"]
        # int32: with x = q * 2^k + r (0 <= r < 2^k),
        # floor((x * f + a) / 2^k) = q * f + floor((r * f + a) / 2^k) for any integer a,
        # where |q * f| <= 2^(W-1) and r * f + a < 2^(2k+1) both fit.
        lines = [
            f"{tmp}q = {self.op(src, '>>', self.lit(k))}",
            f"{tmp}r = {self.op(src, '&', self.lit(mask))}",
        ]
        low_part = self.op(f"{tmp}r", "*", factor)
        if adjust is not None:
            low_part = self.op(low_part, "+", adjust)
        high_part = self.op(f"{tmp}q", "*", factor)
        lines.append(f"{dst} = {self.op(high_part, '+', self.op(low_part, '>>', self.lit(k)))}")
        return lines

    def scaled_drive(
        self, dst: str, src: str, shift: int, width: int, overflow: Overflow
    ) -> list[str]:
        """``dst = src << shift``, reduced so that ``P(a + dst)`` is unchanged for every ``a``
        below ``2^W`` in magnitude. ``src`` has the drive's own dtype; the reduction is done in
        that dtype (or int64), and the result fits the arithmetic's type."""
        if overflow in (Overflow.WRAP, Overflow.WRAP_LAVA):
            if shift >= width:
                return [f"{dst} = {self.lit(0)}"]
            masked = self.op(src, "&", self.lit((1 << (width - shift)) - 1))
            return [f"{dst} = {self.op(masked, '<<', self.lit(shift))}"]
        if shift <= width + 1:
            bound = 1 << (width + 1 - shift)
            return [f"{dst} = {self.op(self.clamp(src, -bound, bound), '<<', self.lit(shift))}"]
        return [f"{dst} = {self.op(self.clamp(src, -1, 1), '<<', self.lit(width + 1))}"]


def kernel_source(params: NeuronParams, has_refractory: bool | None = None) -> str:
    """Source text of the specialized kernel for ``params`` (for inspection and tests).

    The kernel signature is ``kernel(v, i, r, drive, spikes, thr, bias, rv, dec)``: ``v`` (batch,
    neurons), ``i`` (batch, currents, neurons), ``r`` (batch, neurons) uint16 refractory counters,
    all updated in place; ``drive`` (steps, batch, channels, neurons), with the drive bias
    already added (:func:`_with_drive_bias`); ``spikes`` (steps, batch, neurons) uint8 output;
    per-neuron ``thr``/``bias``/``rv`` (read only when the field is an array); ``dec`` (1 +
    currents, neurons): per-neuron decay operands of the membrane and of each current
    (:func:`_decay_rows`, a row read only when that decay is per neuron). Recording is left
    to the caller: slice assignments inside the kernel double its compile time.
    """
    reason = unsupported_reason(params)
    if reason is not None:
        raise ValueError(f"the fast path does not support this configuration: {reason}")
    if has_refractory is None:
        has_refractory = params.refractory_period > 0
    p = params
    a = _Arith(_narrow_ok(p))
    lit, op = a.lit, a.op
    n_cur = p.n_currents
    shift = p.input_shift
    per_thr = isinstance(p.threshold, np.ndarray)
    # A per-neuron mantissa or exponent makes the effective bias per neuron.
    per_bias = isinstance(p.bias, np.ndarray)
    per_rv = isinstance(p.reset_value, np.ndarray)
    strict = p.comparison is Comparison.GREATER
    cmp = ">" if strict else ">="

    body: list[str] = []
    emit = body.append
    # 1. Synaptic currents.
    for c in range(n_cur):
        emit(f"d{c} = d{c}_[n]")
        body.extend(a.scaled_drive(f"s{c}", f"d{c}", shift, p.i_width, p.i_overflow))
        emit(f"u{c} = {a.load(f'i{c}_[n]')}")
        spec = p.i_decay[c]
        per = f"dc{c + 1}_[n]" if spec.per_neuron else None
        if p.input_timing is InputTiming.BEFORE_DECAY:
            emit(f"u{c} = {a.project(op(f'u{c}', '+', f's{c}'), p.i_width, p.i_overflow)}")
            body.extend(a.decay(f"u{c}", f"u{c}", spec, f"t{c}", per))
            emit(f"u{c} = {a.project(f'u{c}', p.i_width, p.i_overflow)}")
        else:
            body.extend(a.decay(f"a{c}", f"u{c}", spec, f"t{c}", per))
            emit(f"u{c} = {a.project(op(f'a{c}', '+', f's{c}'), p.i_width, p.i_overflow)}")
        emit(f"i{c}_[n] = u{c}")
    # 2. Total input.
    if n_cur == 0:
        emit("d0 = d0_[n]")
        body.extend(a.scaled_drive("s0", "d0", shift, p.v_width, p.v_overflow))
        total = "s0"
    elif n_cur == 1:
        total = "u0"
    else:
        total = op("u0", "+", "u1")
    # 3. Membrane.
    bias = a.load("bias_[n]") if per_bias else lit(int(p.bias))
    emit(f"x = {a.load('v_[n]')}")
    body.extend(a.decay("vd", "x", p.v_decay, "tv", "dc0_[n]" if p.v_decay.per_neuron else None))
    if p.membrane_update is MembraneUpdate.SUM:
        emit(f"vn = {a.project(op(op('vd', '+', total), '+', bias), p.v_width, p.v_overflow)}")
    else:
        emit(f"lk = {a.wrap(op('vd', '-', 'x'), p.v_width, -(1 << (p.v_width - 1)))}")
        emit(f"dl = {a.project(op('lk', '+', total), p.v_width, p.v_overflow)}")
        emit(f"dl = {a.project(op('dl', '+', bias), p.v_width, p.v_overflow)}")
        emit(f"vn = {a.project(op('x', '+', 'dl'), p.v_width, p.v_overflow)}")
    if has_refractory:
        emit(f"rr = {a.load('r_[n]')}")
        emit(f"held = rr > {lit(0)}")
        emit("vn = x if held else vn")
    # 4. Spike and reset.
    if per_thr:
        emit(f"th = {a.load('thr_[n]')}")
        th = "th"
    else:
        th = lit(int(p.effective_threshold))
    zero = lit(0)
    if p.reset is ResetMode.SUBTRACT:
        emit(f"fires = vn {cmp} {th}")
        if has_refractory:
            emit(f"fires = fires & (rr <= {zero})")
        m = lit(p.max_spikes)
        num = op(op("vn", "-", th), "-", lit(1)) if strict else op("vn", "-", th)
        if p.max_spikes == 1:
            emit(f"sp = {lit(1)} if fires else {zero}")
        elif per_thr:
            repeats = op(op(f"max({num}, {zero})", "//", f"max(th, {lit(1)})"), "+", lit(1))
            emit(f"sp = (min({repeats}, {m}) if th > {zero} else {m}) if fires else {zero}")
        elif int(p.effective_threshold) > 0:
            repeats = op(op(f"max({num}, {zero})", "//", th), "+", lit(1))
            emit(f"sp = min({repeats}, {m}) if fires else {zero}")
        else:
            emit(f"sp = {m} if fires else {zero}")
        if per_thr or int(p.effective_threshold) != 0:
            emit(f"vn = {op('vn', '-', op('sp', '*', th))}")
        spiked = f"sp > {zero}"
        emit("s_[n] = sp")
    else:
        emit(f"f = vn {cmp} {th}")
        if has_refractory:
            emit(f"f = f & (rr <= {zero})")
        if p.reset is ResetMode.ZERO:
            emit(f"vn = {zero} if f else vn")
        elif p.reset is ResetMode.VALUE:
            rv = a.load("rv_[n]") if per_rv else lit(int(p.reset_value))
            emit(f"vn = {rv} if f else vn")
        spiked = "f"
        emit("s_[n] = 1 if f else 0")
    emit("v_[n] = vn")
    # 5. Refractory counter.
    if has_refractory:
        emit(
            f"r_[n] = {op('rr', '-', lit(1))} if held else "
            f"({lit(p.refractory_period)} if {spiked} else {zero})"
        )

    rows = ["v_ = v[b]", "s_ = spikes[t, b]"]
    rows += [f"i{c}_ = i[b, {c}]" for c in range(n_cur)]
    rows += [f"d{c}_ = drive[t, b, {c}]" for c in range(max(n_cur, 1))]
    if has_refractory:
        rows.append("r_ = r[b]")
    if per_thr:
        rows.append("thr_ = thr")
    if per_bias:
        rows.append("bias_ = bias")
    if per_rv:
        rows.append("rv_ = rv")
    rows += [
        f"dc{row}_ = dec[{row}]"
        for row, spec in enumerate((p.v_decay, *p.i_decay))
        if spec.per_neuron
    ]
    lines = [
        f"# arithmetic: int{a.bits}",
        "def kernel(v, i, r, drive, spikes, thr, bias, rv, dec):",
        "    n_neurons = v.shape[1]",
        "    for t in range(drive.shape[0]):",
        "        for b in range(v.shape[0]):",
        *(f"            {row}" for row in rows),
        "            for n in range(n_neurons):",
        *(f"                {line}" for line in body),
        "",
    ]
    return "\n".join(lines)


_compiled: dict[str, object] = {}
_compile_lock = threading.Lock()


def _compile(source: str):
    with _compile_lock:
        kernel = _compiled.get(source)
        if kernel is None:
            import numba  # deferred: importing numba costs ~0.3 s

            filename = f"<neurohw.model.fast kernel {len(_compiled)}>"
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            namespace = {"np": np, "I": np.int32}
            exec(compile(source, filename, "exec"), namespace)  # noqa: S102 (generated code)
            kernel = numba.njit(cache=False, parallel=False, nogil=True, error_model="numpy")(
                namespace["kernel"]
            )
            _compiled[source] = kernel
        return kernel


# ----------------------------------------------------------------------------------------------
# Drive preparation


_DIRECT_DRIVE_KINDS = {
    np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32)
}


def _drive_context(params: NeuronParams, channel: int):
    if params.n_currents:
        return params.i_width, params.i_overflow
    return params.v_width, params.v_overflow


def _as_kernel_drive(params: NeuronParams, drive: np.ndarray) -> np.ndarray:
    """An int-typed C-contiguous drive with the same effect; reduces values beyond int64 exactly.

    ``drive`` has the channel axis second to last. Under wrap only ``drive mod 2^W`` matters,
    under saturation only ``clamp(drive, +-2^(W+1))`` (see the module docstring).
    """
    if drive.dtype in _DIRECT_DRIVE_KINDS:
        return np.ascontiguousarray(drive)
    if drive.dtype.kind not in "iu" and drive.dtype != object:
        raise TypeError(f"drive must be an integer array, not dtype {drive.dtype}")
    if drive.dtype == np.uint64 and (not drive.size or int(drive.max()) <= np.iinfo(np.int64).max):
        return drive.astype(np.int64)
    out = np.empty(drive.shape, dtype=np.int64)
    for c in range(drive.shape[-2]):
        width, overflow = _drive_context(params, c)
        values = drive[..., c, :].astype(object)
        if not all(
            isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in values.flat
        ):
            raise TypeError("drive must hold integers")
        if overflow in (Overflow.WRAP, Overflow.WRAP_LAVA):
            values = values % (1 << width)
        else:
            bound = 1 << (width + 1)
            values = np.minimum(np.maximum(values, -bound), bound)
        out[..., c, :] = values.astype(np.int64)
    return out


def _with_drive_bias(params: NeuronParams, drive: np.ndarray) -> np.ndarray:
    """``drive`` with ``params.drive_bias`` added to channel 0 (the channel axis second to
    last), exactly: in int64 where every value fits, on Python integers otherwise (which
    :func:`_as_kernel_drive` then reduces)."""
    drive_bias = np.asarray(params.drive_bias)
    if not np.any(drive_bias != 0):
        return drive
    drive = np.array(drive)  # a copy, never the caller's array
    if (
        drive.dtype == object
        or drive.dtype == np.uint64
        or (drive.size and max(-int(drive.min()), int(drive.max())).bit_length() > 62)
        or max(-int(drive_bias.min()), int(drive_bias.max())).bit_length() > 62
    ):
        drive, drive_bias = drive.astype(object), drive_bias.astype(object)
    else:
        drive = drive.astype(np.int64)
    drive[..., 0, :] = drive[..., 0, :] + drive_bias
    return drive


def _decay_rows(params: NeuronParams, narrow: bool) -> np.ndarray:
    """Per-neuron decay operands, one row for the membrane and one per current: the factor of a
    multiply decay, the constant of a shift decay clamped to the arithmetic's width - 1 (a
    larger shift gives the same sign bits, and shifting by the full width is undefined in
    LLVM). Rows of shared decays are unused and stay 0."""
    specs = (params.v_decay, *params.i_decay)
    size = max([1, *(spec.constant.shape[0] for spec in specs if spec.per_neuron)])
    rows = np.zeros((len(specs), size), np.int64)
    for row, spec in enumerate(specs):
        if spec.per_neuron:
            rows[row] = (
                spec.factor
                if spec.kind is DecayKind.MULTIPLY
                else np.minimum(spec.constant, (31 if narrow else 63))
            )
    return rows


def _check_drive_dtype(drive: np.ndarray) -> None:
    if drive.dtype.kind not in "iu" and drive.dtype != object:
        raise TypeError(f"drive must be an integer array, not dtype {drive.dtype}")


# ----------------------------------------------------------------------------------------------
# Population


def _check_count(value, name, low=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, not {value}")
    return int(value)


def _compact_per_neuron(value) -> np.ndarray:
    array = np.asarray(value).astype(np.int64)
    return array.astype(_storage_dtype(int(array.min()), int(array.max())))


class FastPopulation:
    """``batch`` independent populations of ``n_neurons`` neurons on the compiled path.

    State is stored compactly (see :attr:`state_bytes_per_neuron`); :meth:`state` returns it as
    a :class:`NeuronState` typed like the reference's (int64 except for very wide states), to
    compare with or hand to the reference. Raises ``ValueError`` if
    ``params`` is not supported (:func:`unsupported_reason`) or ``state`` cannot be represented.
    """

    def __init__(
        self, params: NeuronParams, n_neurons: int, batch: int = 1, state: NeuronState | None = None
    ):
        reason = unsupported_reason(params)
        if reason is not None:
            raise ValueError(f"the fast path does not support this configuration: {reason}")
        self.params = params
        # What the reference holds states in: int64, or Python integers for very wide states.
        self._out_dtype = np.dtype(reference._state_dtype(params))
        self.n_neurons = _check_count(n_neurons, "n_neurons")
        self.batch = _check_count(batch, "batch")
        params.check_population_size(self.n_neurons)
        self._v_dtype = _storage_dtype(*state_range(params.v_width, params.v_overflow))
        self._i_dtype = (
            _storage_dtype(*state_range(params.i_width, params.i_overflow))
            if params.n_currents
            else np.dtype(np.int32)
        )
        self._thr = (
            _compact_per_neuron(params.effective_threshold)
            if isinstance(params.threshold, np.ndarray)
            else np.zeros(1, np.int64)
        )
        self._bias = (
            _compact_per_neuron(params.bias)
            if isinstance(params.bias, np.ndarray)
            else np.zeros(1, np.int64)
        )
        self._rv = (
            _compact_per_neuron(params.reset_value)
            if isinstance(params.reset_value, np.ndarray)
            else np.zeros(1, np.int64)
        )
        self._dec = _decay_rows(params, _narrow_ok(params))
        shape = (self.batch, self.n_neurons)
        self._v = np.zeros(shape, self._v_dtype)
        self._i = np.zeros((self.batch, params.n_currents, self.n_neurons), self._i_dtype)
        self._r = None
        self._no_r = np.zeros((self.batch, 0), np.uint16)
        self._kernel = None
        if state is not None:
            self.set_state(state)
        else:
            self._set_refractory(None)

    # -- state ---------------------------------------------------------------------------------

    def _set_refractory(self, refractory):
        needed = self.params.refractory_period > 0 or (
            refractory is not None and bool(np.any(refractory))
        )
        if needed:
            self._r = np.zeros((self.batch, self.n_neurons), np.uint16)
            if refractory is not None:
                self._r[...] = refractory
        else:
            self._r = None
        self._kernel = _compile(kernel_source(self.params, self._r is not None))

    def set_state(self, state: NeuronState) -> None:
        """Load a state (any integer dtype, including object). Values must lie in their ranges:
        ``v`` and ``i`` in :func:`state_range` of their width and policy, ``refractory`` in
        ``[0, 65535]``."""
        p = self.params
        shapes = {
            "v": (self.batch, self.n_neurons),
            "i": (self.batch, p.n_currents, self.n_neurons),
            "refractory": (self.batch, self.n_neurons),
        }
        ranges = {
            "v": state_range(p.v_width, p.v_overflow),
            "i": state_range(p.i_width, p.i_overflow),
            "refractory": (0, _MAX_REFRACTORY),
        }
        arrays = {}
        for name, shape in shapes.items():
            array = np.asarray(getattr(state, name))
            if array.shape != shape:
                raise ValueError(f"state.{name} must have shape {shape}, not {array.shape}")
            if array.dtype.kind not in "iu" and array.dtype != object:
                raise TypeError(f"state.{name} must be an integer array, not {array.dtype}")
            if array.size:
                low, high = ranges[name]
                lo, hi = int(array.min()), int(array.max())
                if lo < low or hi > high:
                    raise ValueError(
                        f"state.{name} values from {lo} to {hi} cannot be held: "
                        f"the fast path needs them in [{low}, {high}]"
                    )
            arrays[name] = array
        self._v[...] = arrays["v"].astype(np.int64)
        self._i[...] = arrays["i"].astype(np.int64)
        self._set_refractory(arrays["refractory"].astype(np.int64))

    def state(self) -> NeuronState:
        """The current state (copies), shaped and typed like the reference's: ``v`` and ``i``
        int64 wherever the reference uses int64 (Python-integer object arrays for states too
        wide for its int64 bound, so that the result can be passed on to ``reference.step``,
        which picks its arithmetic from the state's dtype); ``refractory`` int64."""
        refractory = (
            self._r.astype(np.int64)
            if self._r is not None
            else np.zeros((self.batch, self.n_neurons), np.int64)
        )
        return NeuronState(
            v=self._v.astype(self._out_dtype),
            i=self._i.astype(self._out_dtype),
            refractory=refractory,
        )

    @property
    def state_bytes_per_neuron(self) -> int:
        """Bytes of state held per neuron and batch entry (v, currents, refractory counter)."""
        size = self._v.dtype.itemsize + self.params.n_currents * self._i.dtype.itemsize
        return size + (self._r.dtype.itemsize if self._r is not None else 0)

    @property
    def param_bytes_per_neuron(self) -> int:
        """Bytes of per-neuron parameters (threshold, bias, reset value arrays and per-neuron
        decay constants) per neuron."""
        decays = sum(
            self._dec.dtype.itemsize
            for spec in (self.params.v_decay, *self.params.i_decay)
            if spec.per_neuron
        )
        return decays + sum(
            a.dtype.itemsize
            for a, field in (
                (self._thr, "threshold"),
                (self._bias, "bias"),
                (self._rv, "reset_value"),
            )
            if isinstance(getattr(self.params, field), np.ndarray)
        )

    @property
    def source(self) -> str:
        """The generated kernel source for this population."""
        return kernel_source(self.params, self._r is not None)

    # -- stepping ------------------------------------------------------------------------------

    def _prepare(self, drive, steps_axis: bool) -> np.ndarray:
        drive = np.asarray(drive)
        _check_drive_dtype(drive)
        channels = self.params.input_channels
        expected = (self.batch, channels, self.n_neurons)
        shape = drive.shape[1:] if steps_axis else drive.shape
        if drive.ndim != (4 if steps_axis else 3) or shape != expected:
            what = (
                "(steps, batch, channels, neurons)" if steps_axis else "(batch, channels, neurons)"
            )
            raise ValueError(
                f"drive must have shape {what} with (batch, channels, neurons) = "
                f"{expected}, not {drive.shape}"
            )
        drive = _as_kernel_drive(self.params, _with_drive_bias(self.params, drive))
        return drive if steps_axis else drive[np.newaxis]

    def _call(self, drive4, spikes):
        r = self._r if self._r is not None else self._no_r
        self._kernel(
            self._v, self._i, r, drive4, spikes, self._thr, self._bias, self._rv, self._dec
        )

    def step(self, drive, out: np.ndarray | None = None) -> np.ndarray:
        """Advance one step with ``drive`` (batch, channels, neurons); return the spike counts
        (batch, neurons) as uint8 (into ``out`` if given, a C-contiguous uint8 array)."""
        drive4 = self._prepare(drive, steps_axis=False)
        if out is None:
            out = np.empty((self.batch, self.n_neurons), np.uint8)
        elif (
            out.shape != (self.batch, self.n_neurons)
            or out.dtype != np.uint8
            or not out.flags.c_contiguous
        ):
            raise ValueError("out must be a C-contiguous uint8 array of shape (batch, neurons)")
        self._call(drive4, out[np.newaxis])
        return out

    def advance(self, drive) -> np.ndarray:
        """Run ``steps`` steps inside the compiled loop, recording only the spike counts.
        ``drive``: (steps, batch, channels, neurons). Returns uint8 (steps, batch, neurons)."""
        drive4 = self._prepare(drive, steps_axis=True)
        spikes = np.empty((drive4.shape[0], self.batch, self.n_neurons), np.uint8)
        self._call(drive4, spikes)
        return spikes

    def run(self, drive, record=RECORDABLE) -> Trace:
        """Run ``steps`` steps (drive (steps, batch, channels, neurons)) and return a
        :class:`Trace` as ``reference.run`` records it (dtypes as in :meth:`state`)."""
        record = check_record(record)
        drive4 = self._prepare(drive, steps_axis=True)
        steps = drive4.shape[0]
        b, n = self.batch, self.n_neurons
        spikes = np.empty((steps, b, n), np.uint8)
        v_rec = np.empty((steps, b, n), self._v.dtype) if "v" in record else None
        i_rec = (
            np.empty((steps, b, self.params.n_currents, n), self._i.dtype)
            if "i" in record
            else None
        )
        r_rec = (
            np.empty((steps, b, n), np.uint16)
            if "refractory" in record and self._r is not None
            else None
        )
        if v_rec is None and i_rec is None and r_rec is None:
            self._call(drive4, spikes)
        else:
            for t in range(steps):
                self._call(drive4[t : t + 1], spikes[t : t + 1])
                if v_rec is not None:
                    v_rec[t] = self._v
                if i_rec is not None:
                    i_rec[t] = self._i
                if r_rec is not None:
                    r_rec[t] = self._r
        refractory = None
        if "refractory" in record:
            refractory = (
                r_rec.astype(np.int64) if r_rec is not None else np.zeros((steps, b, n), np.int64)
            )
        return Trace(
            spikes=spikes.astype(np.int64),
            v=None if v_rec is None else v_rec.astype(self._out_dtype),
            i=None if i_rec is None else i_rec.astype(self._out_dtype),
            refractory=refractory,
            final_state=self.state(),
        )


def run_fast(
    params: NeuronParams,
    drive,
    *,
    batch: int | None = None,
    n_neurons: int | None = None,
    state: NeuronState | None = None,
    record=RECORDABLE,
) -> Trace:
    """``reference.run(params, drive=drive, ...)`` on the compiled path: the same :class:`Trace`,
    with the same dtypes."""
    drive = drive_4d(drive)
    batch_size, size = drive.shape[1], drive.shape[3]
    if n_neurons is not None and n_neurons != size:
        raise ValueError(f"n_neurons={n_neurons} does not match the input's {size} neurons")
    if batch is not None and batch != batch_size:
        raise ValueError(f"batch={batch} does not match the input's batch of {batch_size}")
    if state is not None and (state.batch, state.n_neurons) != (batch_size, size):
        raise ValueError(
            f"state has batch {state.batch} and {state.n_neurons} neurons, but the "
            f"input has batch {batch_size} and {size} neurons"
        )
    population = FastPopulation(params, size, batch_size, state=state)
    return population.run(drive, record=record)


# ----------------------------------------------------------------------------------------------
# Dispatcher


def _summed_drive(params: NeuronParams, spikes, weights):
    """The drive of ``spikes`` with ``weights``, as int64 (steps, batch, channels, neurons), or
    None when int64 would not be exact (the reference then computes on Python integers)."""
    weights = check_weights(params, weights)
    spikes = np.asarray(spikes)
    if spikes.ndim == 2:
        spikes = spikes[:, np.newaxis, :]
    if spikes.ndim != 3:
        raise ValueError(
            f"spikes must have shape (steps, axons) or (steps, batch, axons), not {spikes.shape}"
        )
    if spikes.dtype.kind not in "iub":
        raise TypeError(f"spikes must be an integer or boolean array, not dtype {spikes.dtype}")
    counts = spikes.astype(np.int64)
    if counts.size and (counts.min() < 0 or counts.max() > MAX_SPIKE_COUNT):
        bad = counts.min() if counts.min() < 0 else counts.max()
        raise ValueError(f"spike counts must be between 0 and {MAX_SPIKE_COUNT}, not {bad}")
    if counts.shape[2] != weights.shape[1]:
        raise ValueError(f"spikes carry {counts.shape[2]} axons, weights {weights.shape[1]}")
    if params.input_count_cap is not None:
        counts = np.minimum(counts, params.input_count_cap)
    if weights.shape[1] > (1 << 14) or (weights.size and np.abs(weights).max() >= (1 << 31)):
        return None
    return np.einsum("tba,can->tbcn", counts, weights)


def _fast_blocker(params, drive, state) -> str | None:
    reason = unsupported_reason(params)
    if reason is not None:
        return reason
    if drive is None:
        return (
            "spikes with weights this large need Python integers to sum exactly "
            "(more than 2^14 axons or weights of 32 bits or more)"
        )
    if state is not None:
        ranges = {
            "v": state_range(params.v_width, params.v_overflow),
            "i": state_range(params.i_width, params.i_overflow),
            "refractory": (0, _MAX_REFRACTORY),
        }
        for name, (low, high) in ranges.items():
            array = np.asarray(getattr(state, name))
            if array.size and (array.min() < low or array.max() > high):
                return (
                    f"the initial state.{name} leaves [{low}, {high}], which the fast path "
                    "cannot hold"
                )
    return None


def simulate(
    params: NeuronParams,
    spikes=None,
    weights=None,
    *,
    drive=None,
    batch: int | None = None,
    n_neurons: int | None = None,
    state: NeuronState | None = None,
    record=RECORDABLE,
    backend: str = "auto",
) -> Trace:
    """Run a population; the arguments and the result are those of ``reference.run``.

    ``backend``: ``"numpy"`` runs the reference; ``"numba"`` the compiled fast path (raises
    ``ValueError`` saying why when the configuration or the input cannot run there, e.g.
    accumulation 'per_event' or states too wide for int64); ``"auto"`` (default) picks the fast
    path when it can run and the population has at least ``AUTO_MIN_NEURONS`` (4096) neurons, the
    reference otherwise. Both give identical traces (values and dtypes).
    """
    if backend not in ("auto", "numpy", "numba"):
        raise ValueError(f"backend must be 'auto', 'numpy' or 'numba', not {backend!r}")
    kwargs = dict(batch=batch, n_neurons=n_neurons, state=state, record=record)
    if backend == "numpy":
        return reference.run(params, spikes, weights, drive=drive, **kwargs)
    if (spikes is None) == (drive is None):
        raise ValueError("simulate needs exactly one of spikes (with weights) or drive")
    if spikes is not None and weights is None:
        raise ValueError("spikes need weights")

    def numpy_run():
        return reference.run(params, spikes, weights, drive=drive, **kwargs)

    reason = unsupported_reason(params)
    if reason is not None:
        if backend == "auto":
            return numpy_run()
        raise ValueError(f"backend 'numba' cannot run this configuration: {reason}")
    if backend == "auto":
        size = np.shape(weights)[-1] if spikes is not None else drive_4d(drive).shape[3]
        if size < AUTO_MIN_NEURONS:
            return numpy_run()
    fast_drive = drive_4d(drive) if drive is not None else _summed_drive(params, spikes, weights)
    if fast_drive is not None:
        _check_drive_dtype(fast_drive)
    blocker = _fast_blocker(params, fast_drive, state)
    if blocker is not None:
        if backend == "auto":
            return numpy_run()
        raise ValueError(f"backend 'numba' cannot run this input: {blocker}")
    return run_fast(params, fast_drive, **kwargs)
