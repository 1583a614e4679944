"""The description of one 2-D convolution layer, without hardware: :class:`ConvSpec`.

A convolution layer has the integer semantics of its dense lowering (``docs/semantics.md``,
"Convolution layers"): input spike counts on axons ``c * H * W + y * W + x``, output neurons
``oc * Ho * Wo + oy * Wo + ox``, and the weight ``W[axon, neuron]`` of
:meth:`ConvSpec.dense_matrix`, exactly what :func:`neurohw.network.import_nir` builds for a
``Conv2d`` node (for a sum pooling in front, ``ConvSpec(..., pool=(ph, pw))``, the product of
the ``SumPool2d`` and ``Conv2d`` lowerings: an event ``(c, y, x)`` of the input acts as the
event ``(c, y // ph, x // pw)`` of the pooled map the convolution reads). A
:class:`neurohw.hw.conv_core.ConvCore` stores the kernel once (``out_channels x C x Kh x Kw``
words) and computes the addresses that :meth:`ConvSpec.fanout` lists, in the same order.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["ConvSpec", "MAX_KERNEL", "MAX_DILATION", "STRIDES", "pool_window"]

#: Largest kernel side.
MAX_KERNEL = 7
#: Largest dilation.
MAX_DILATION = 8
#: Strides a convolution core implements (a power of two: the division is a shift).
STRIDES = (1, 2)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _pair(value, name, allowed, check):
    """``value`` (one integer or a pair) as a pair of ints, each passing ``check``."""
    if _is_int(value):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{name} must be an integer or a pair of integers, not {value!r}")
    if not all(check(v) for v in pair):
        raise ValueError(f"{name}={value!r} is not supported; allowed: {allowed}")
    return pair


def pool_window(kernel_size, stride=None, padding=0) -> tuple[int, int]:
    """The window ``(ph, pw)`` of a ``SumPool2d`` / ``AvgPool2d`` that a conv core implements
    (``ConvSpec(..., pool=...)``): non-overlapping windows, ``stride`` equal to ``kernel_size``
    (None means equal, as in torch and NIR), no padding; the rows and columns that do not fill
    a window are dropped (torch's ``ceil_mode=False``). Other parameters are refused here."""
    kernel_size, stride, padding = (
        value.tolist() if isinstance(value, np.ndarray) else value
        for value in (kernel_size, stride, padding)
    )
    window = _pair(kernel_size, "pool kernel_size", "integers >= 1", lambda v: v >= 1)
    if stride is not None:
        steps = _pair(stride, "pool stride", "integers >= 1", lambda v: v >= 1)
        if steps != window:
            raise ValueError(
                f"pool stride={stride!r} differs from kernel_size={kernel_size!r}; allowed: "
                f"stride equal to kernel_size (non-overlapping windows)"
            )
    _pair(padding, "pool padding", "0 (no padding)", lambda v: v == 0)
    return window


class ConvSpec:
    """One ``Conv2d`` layer (``groups=1``, no bias): shapes, stride, padding, dilation.

    Parameters
    ----------
    in_shape : (C, H, W)
        Input feature map, positive integers.
    out_channels : int
        Output channels, >= 1.
    kernel_size : int or (Kh, Kw)
        1 .. ``MAX_KERNEL`` (7).
    stride : int or (sy, sx)
        1 or 2.
    padding : 'valid', 'same', int or (py, px)
        'valid' is 0; 'same' (stride 1 only) pads ``dilation * (K - 1) // 2`` before and keeps
        the input size (the extra row or column of an even kernel is after, as in
        ``import_nir``); integers >= 0 pad both sides.
    dilation : int or (dy, dx)
        1 .. ``MAX_DILATION`` (8).
    pool : None, int or (ph, pw)
        A sum pooling in front of the convolution (None or 1: none): ``in_shape`` is the map
        before pooling, and an event at ``(c, y, x)`` acts as the event ``(c, y // ph,
        x // pw)`` of the pooled map ``(C, H // ph, W // pw)`` that the convolution reads
        (stride, padding and the output size apply to the pooled map). Events in the last
        ``H % ph`` rows or ``W % pw`` columns reach nothing, as torch's ``SumPool2d`` drops
        them. :func:`pool_window` checks an exporter's pooling parameters.
    """

    def __init__(
        self, in_shape, out_channels, kernel_size, *, stride=1, padding=0, dilation=1, pool=None
    ) -> None:
        if (
            not isinstance(in_shape, (tuple, list))
            or len(in_shape) != 3
            or not all(_is_int(v) and v >= 1 for v in in_shape)
        ):
            raise ValueError(
                f"in_shape must be (C, H, W) with three positive integers, not {in_shape!r}"
            )
        if not _is_int(out_channels) or out_channels < 1:
            raise ValueError(f"out_channels must be a positive integer, not {out_channels!r}")
        self.in_shape = tuple(int(v) for v in in_shape)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair(
            kernel_size,
            "kernel_size",
            f"integers 1..{MAX_KERNEL}",
            lambda v: 1 <= v <= MAX_KERNEL,
        )
        self.stride = _pair(
            stride, "stride", " or ".join(map(str, STRIDES)), lambda v: v in STRIDES
        )
        self.dilation = _pair(
            dilation, "dilation", f"integers 1..{MAX_DILATION}", lambda v: 1 <= v <= MAX_DILATION
        )
        self.pool = (
            (1, 1)
            if pool is None
            else _pair(pool, "pool", "None or integers >= 1", lambda v: v >= 1)
        )
        channels, in_height, in_width = self.in_shape
        if self.pool[0] > in_height or self.pool[1] > in_width:
            raise ValueError(
                f"pool={pool!r} does not fit the input {self.in_shape}; allowed: windows no "
                f"larger than the input"
            )
        height, width = in_height // self.pool[0], in_width // self.pool[1]
        #: The map the convolution reads, ``(C, H // ph, W // pw)`` (``in_shape`` unpooled).
        self.pooled_shape = (channels, height, width)
        extent = tuple(d * (k - 1) + 1 for d, k in zip(self.dilation, self.kernel_size))
        if isinstance(padding, str):
            if padding == "valid":
                self.pad_before = (0, 0)
                out_h = (height - extent[0]) // self.stride[0] + 1
                out_w = (width - extent[1]) // self.stride[1] + 1
            elif padding == "same":
                if self.stride != (1, 1):
                    raise ValueError(
                        f"padding='same' needs stride 1, not stride={stride!r}; allowed with "
                        f"stride 2: 'valid' or integer padding"
                    )
                self.pad_before = tuple((e - 1) // 2 for e in extent)
                out_h, out_w = height, width
            else:
                raise ValueError(
                    f"padding={padding!r} is not supported; allowed: 'valid', 'same', integers >= 0"
                )
        else:
            self.pad_before = _pair(
                padding, "padding", "'valid', 'same', integers >= 0", lambda v: v >= 0
            )
            out_h = (height + 2 * self.pad_before[0] - extent[0]) // self.stride[0] + 1
            out_w = (width + 2 * self.pad_before[1] - extent[1]) // self.stride[1] + 1
        self.padding = padding
        if out_h < 1 or out_w < 1:
            pooled = f" pooled to {self.pooled_shape}" if self.pooled else ""
            raise ValueError(
                f"kernel_size={self.kernel_size} with dilation={self.dilation} does not fit the "
                f"input {self.in_shape}{pooled} with padding={padding!r} (output {out_h} x "
                f"{out_w})"
            )
        self.out_shape = (self.out_channels, out_h, out_w)

    def __repr__(self) -> str:
        return (
            f"ConvSpec(in_shape={self.in_shape}, out_channels={self.out_channels}, "
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding!r}, "
            f"dilation={self.dilation}" + (f", pool={self.pool})" if self.pooled else ")")
        )

    def _key(self) -> tuple:
        return (
            self.in_shape,
            self.out_channels,
            self.kernel_size,
            self.stride,
            self.pad_before,
            self.dilation,
            self.pool,
            self.out_shape,
        )

    def __eq__(self, other):
        """The same layer: shapes, kernel, stride, padding before, dilation, pooling and
        output (``padding=1`` equals ``padding=(1, 1)``, as a network file writes it)."""
        if not isinstance(other, ConvSpec):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    @property
    def pooled(self) -> bool:
        """Whether a pooling window larger than 1 x 1 is in front of the convolution."""
        return self.pool != (1, 1)

    @property
    def n_axons(self) -> int:
        """Input positions ``C * H * W`` (axon ``c * H * W + y * W + x``)."""
        return int(np.prod(self.in_shape))

    @property
    def n_neurons(self) -> int:
        """Output neurons ``out_channels * Ho * Wo`` (neuron ``oc * Ho * Wo + oy * Wo + ox``)."""
        return int(np.prod(self.out_shape))

    @property
    def kernel_shape(self) -> tuple[int, int, int, int]:
        """``(out_channels, C, Kh, Kw)``."""
        return (self.out_channels, self.in_shape[0], *self.kernel_size)

    @property
    def kernel_words(self) -> int:
        """Words of the kernel memory, one per kernel weight."""
        return int(np.prod(self.kernel_shape))

    @property
    def ops_per_event(self) -> int:
        """Kernel positions an event visits, ``Kh * Kw * out_channels`` (one clock each in a
        one-lane core, whether or not the position reaches an output neuron)."""
        return self.kernel_size[0] * self.kernel_size[1] * self.out_channels

    def check_kernel(self, kernel, weight_width: int) -> np.ndarray:
        """``kernel`` as a read-only int64 array of :attr:`kernel_shape`, every value inside
        the signed ``weight_width`` range."""
        array = np.asarray(kernel)
        if array.dtype.kind not in "iu":
            raise TypeError(f"kernel must be an integer array, not dtype {array.dtype}")
        if array.shape != self.kernel_shape:
            raise ValueError(
                f"kernel must have shape (out_channels, C, Kh, Kw) = {self.kernel_shape}, "
                f"not {array.shape}"
            )
        low, high = -(1 << (weight_width - 1)), (1 << (weight_width - 1)) - 1
        bad = np.argwhere((array < low) | (array > high))
        if len(bad):
            index = tuple(int(v) for v in bad[0])
            raise ValueError(
                f"kernel{list(index)} = {int(array[index])} does not fit weight_width="
                f"{weight_width} ([{low}, {high}])"
            )
        out = array.astype(np.int64)
        out.setflags(write=False)
        return out

    def kernel_index(self, oc: int, c: int, ky: int, kx: int) -> int:
        """Word of ``kernel[oc, c, ky, kx]`` in the kernel memory (row-major)."""
        cin = self.in_shape[0]
        kh, kw = self.kernel_size
        return ((oc * cin + c) * kh + ky) * kw + kx

    def fanout(self, axon: int) -> list[tuple[int, int]]:
        """``(neuron, kernel word)`` of every output an event on ``axon`` reaches, in the order
        a core visits them: ``ky``, then ``kx``, then ``oc`` innermost. An input at ``(y, x)``
        (of the pooled map: ``(y // ph, x // pw)``) reaches output ``oy`` through kernel row
        ``ky`` when ``y + pad - ky * dilation`` is a non-negative multiple of the stride whose
        quotient is ``oy < Ho`` (likewise for x)."""
        if not _is_int(axon) or not 0 <= axon < self.n_axons:
            raise ValueError(f"axon must be an integer in 0..{self.n_axons - 1}, not {axon!r}")
        c, y, x = self.pooled_position(int(axon))
        if y is None:
            return []
        _, out_h, out_w = self.out_shape
        out = []
        for ky in range(self.kernel_size[0]):
            oy = self._output_of(y, ky, 0, out_h)
            for kx in range(self.kernel_size[1]):
                ox = self._output_of(x, kx, 1, out_w)
                if oy is None or ox is None:
                    continue
                for oc in range(self.out_channels):
                    out.append(
                        (oc * out_h * out_w + oy * out_w + ox, self.kernel_index(oc, c, ky, kx))
                    )
        return out

    def pooled_position(self, axon: int) -> tuple:
        """``(c, y, x)`` of ``axon`` on the pooled map, or ``(c, None, None)`` for an event in
        the rows or columns that pooling drops."""
        _, height, width = self.in_shape
        c, rest = divmod(int(axon), height * width)
        y, x = divmod(rest, width)
        (ph, pw), (_, pooled_h, pooled_w) = self.pool, self.pooled_shape
        if y >= pooled_h * ph or x >= pooled_w * pw:
            return c, None, None
        return c, y // ph, x // pw

    def event_iterations(self, axon: int, lanes: int = 1) -> int:
        """Clocks a conv core with ``lanes`` lanes spends on an event on ``axon`` once decoded:
        ``ceil(out_channels / lanes)`` per kernel position that reaches an output, 1 per
        position that does not, 1 for an event that pooling drops (``docs/core.md``,
        "Convolution core")."""
        _, y, x = self.pooled_position(int(axon))
        if y is None:
            return 1
        groups = -(-self.out_channels // lanes)
        clocks = 0
        for ky in range(self.kernel_size[0]):
            oy = self._output_of(y, ky, 0, self.out_shape[1])
            for kx in range(self.kernel_size[1]):
                ox = self._output_of(x, kx, 1, self.out_shape[2])
                clocks += groups if oy is not None and ox is not None else 1
        return clocks

    def _output_of(self, position, k, axis, size):
        offset = position + self.pad_before[axis] - k * self.dilation[axis]
        if offset < 0 or offset % self.stride[axis]:
            return None
        out = offset // self.stride[axis]
        return out if out < size else None

    def _padded_input(self, values: np.ndarray) -> np.ndarray:
        """``values (..., n_axons)`` summed over the pooling windows and zero-padded:
        ``(..., C, Hp, Wp)``, large enough for every kernel position of every output."""
        channels, height, width = self.in_shape
        (ph, pw), (_, pooled_h, pooled_w) = self.pool, self.pooled_shape
        batch = values.shape[:-1]
        grid = values.reshape(*batch, channels, height, width)[
            ..., : pooled_h * ph, : pooled_w * pw
        ]
        pooled = grid.reshape(*batch, channels, pooled_h, ph, pooled_w, pw).sum(axis=(-3, -1))
        sizes = []
        for axis, size in enumerate((pooled_h, pooled_w)):
            need = (
                (self.out_shape[1 + axis] - 1) * self.stride[axis]
                + (self.kernel_size[axis] - 1) * self.dilation[axis]
                + 1
            )
            before = self.pad_before[axis]
            sizes.append((before, max(0, need - before - size)))
        pad = [(0, 0)] * (len(batch) + 1) + sizes
        return np.pad(pooled, pad)

    def apply(self, kernel, values) -> np.ndarray:
        """``values @ dense_matrix(kernel)`` without the dense matrix: ``values (..., n_axons)``
        (spike counts or graded values, integers) -> ``(..., n_neurons)`` int64, the sum over
        the pooling window, then the correlation with the kernel at the stride, padding and
        dilation, exact in int64 (the integer semantics of ``docs/semantics.md``)."""
        kernel = np.asarray(kernel, dtype=np.int64)
        values = np.asarray(values, dtype=np.int64)
        if values.shape[-1:] != (self.n_axons,):
            raise ValueError(
                f"values must have {self.n_axons} input positions on the last axis, not shape "
                f"{values.shape}"
            )
        padded = self._padded_input(values)
        batch = values.shape[:-1]
        _, out_h, out_w = self.out_shape
        (sy, sx), (dy, dx) = self.stride, self.dilation
        out = np.zeros((*batch, *self.out_shape), dtype=np.int64)
        for ky in range(self.kernel_size[0]):
            rows = slice(ky * dy, ky * dy + (out_h - 1) * sy + 1, sy)
            for kx in range(self.kernel_size[1]):
                columns = slice(kx * dx, kx * dx + (out_w - 1) * sx + 1, sx)
                window = padded[..., rows, columns]  # (..., C, Ho, Wo)
                out += np.einsum("oc,...chw->...ohw", kernel[:, :, ky, kx], window)
        return out.reshape(*batch, self.n_neurons)

    def fan_out(self, kernel) -> np.ndarray:
        """Non-zero weights of each axon's row of the dense lowering (``n_axons``,
        int64): ``np.count_nonzero(dense_matrix(kernel), axis=1)`` without the matrix."""
        nonzero = (np.asarray(kernel) != 0).sum(axis=0)  # (C, Kh, Kw) over output channels
        _, pooled_h, pooled_w = self.pooled_shape
        reach_y, reach_x = (
            np.array(
                [
                    [
                        self._output_of(p, k, axis, self.out_shape[1 + axis]) is not None
                        for k in range(self.kernel_size[axis])
                    ]
                    for p in range(size)
                ],
                dtype=np.int64,
            )
            for axis, size in enumerate((pooled_h, pooled_w))
        )
        pooled = np.einsum("yk,xl,ckl->cyx", reach_y, reach_x, nonzero)
        channels, height, width = self.in_shape
        (ph, pw) = self.pool
        out = np.zeros((channels, height, width), dtype=np.int64)
        out[:, : pooled_h * ph, : pooled_w * pw] = np.repeat(
            np.repeat(pooled, ph, axis=1), pw, axis=2
        )
        return out.reshape(-1)

    def dense_matrix(self, kernel) -> np.ndarray:
        """The dense lowering ``W[axon, neuron]`` (int64) of an integer kernel: the weight an
        event on ``axon`` adds to ``neuron``, the sum over the kernel positions linking them
        (one at most with ``groups=1``)."""
        array = np.asarray(kernel)
        if array.shape != self.kernel_shape:
            raise ValueError(
                f"kernel must have shape (out_channels, C, Kh, Kw) = {self.kernel_shape}, "
                f"not {array.shape}"
            )
        flat = array.reshape(-1)
        matrix = np.zeros((self.n_axons, self.n_neurons), dtype=np.int64)
        for axon in range(self.n_axons):
            for neuron, word in self.fanout(axon):
                matrix[axon, neuron] += int(flat[word])
        return matrix
