"""Independent transliterations of the published integer neurons, used as test oracles.

They follow the structure of the original code (one neuron at a time, C-like integer types)
rather than our semantics document, so that an error in our reading of the originals shows up
as a disagreement instead of being copied into both sides.
"""

from __future__ import annotations


def _int16(x: int) -> int:
    return (x + (1 << 15)) % (1 << 16) - (1 << 15)


def _safe_add16(a: int, b: int) -> int:
    return max(-(1 << 15), min((1 << 15) - 1, a + b))


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


class LavaLifBitAcc:
    """lava-nc 0.10 ``PyLifModelBitAcc``, for a vector of neurons sharing vth.

    ``du``, ``dv`` and ``bias_exp`` are one value for all neurons or a list with one per neuron
    (Lava's own Vars broadcast either; ``effective_bias = left_shift(bias_mant, bias_exp)``
    element by element); ``drive_bias`` (a list, per neuron) is added to ``a_in`` before the
    shift by 6: neurohw's Affine-bias term, which Lava's neuron lacks.
    """

    def __init__(self, n, du, dv, vth, bias_mant, bias_exp, drive_bias=None):
        self.du = list(du) if isinstance(du, (list, tuple)) else [du] * n
        self.dv = list(dv) if isinstance(dv, (list, tuple)) else [dv] * n
        self.vth = vth
        bias_exp = list(bias_exp) if isinstance(bias_exp, (list, tuple)) else [bias_exp] * n
        self.bias = [b << e for b, e in zip(bias_mant, bias_exp, strict=True)]
        self.drive_bias = list(drive_bias) if drive_bias is not None else [0] * n
        self.u = [0] * n
        self.v = [0] * n

    def step(self, a_in):
        max_uv = 1 << 23
        spikes = []
        for k, a in enumerate(a_in):
            decayed = self.u[k] * (4096 - (self.du[k] + 1))
            decayed = _sign(decayed) * (abs(decayed) >> 12)
            current = decayed + ((a + self.drive_bias[k]) << 6)
            if current > max_uv:
                current -= 2 * max_uv
            elif current <= -max_uv:
                current += 2 * max_uv
            self.u[k] = current
            decayed_v = self.v[k] * (4096 - self.dv[k])
            decayed_v = _sign(decayed_v) * (abs(decayed_v) >> 12)
            volt = decayed_v + self.u[k] + self.bias[k]
            self.v[k] = max(-max_uv + 1, min(max_uv - 1, volt))
            fired = self.v[k] > (self.vth << 6)
            if fired:
                self.v[k] = 0
            spikes.append(int(fired))
        return spikes


class SnnTorchLeakyInt:
    """snnTorch 1.0 ``Leaky`` with ``reset_mechanism="subtract"`` and its default
    ``reset_delay=True``, on integers: per step ``reset = heaviside(mem - threshold)`` of the
    stored membrane (snnTorch's ``mem_reset``, computed before the update), then
    ``mem = beta*mem + input - reset*threshold`` with ``beta*mem`` as ``(mem*f) >> k`` (floor),
    saturated to ``width`` bits; the spike is ``mem > threshold`` of the new membrane. No state
    besides ``mem``: the pending subtraction is recomputed from it, as snnTorch does."""

    def __init__(self, n, factor, bits, threshold, width):
        self.factor, self.bits, self.width = factor, bits, width
        self.threshold = list(threshold)
        self.mem = [0] * n

    def step(self, drive):
        high = (1 << (self.width - 1)) - 1
        spikes = []
        for k, x in enumerate(drive):
            reset = 1 if self.mem[k] > self.threshold[k] else 0
            mem = ((self.mem[k] * self.factor) >> self.bits) + x - reset * self.threshold[k]
            self.mem[k] = max(-high - 1, min(high, mem))
            spikes.append(1 if self.mem[k] > self.threshold[k] else 0)
        return spikes


class SnnTorchLeakyNoDelayInt:
    """snnTorch 1.0 ``Leaky`` with ``reset_mechanism="subtract"`` and ``reset_delay=False``, on
    integers, line by line as ``Leaky.forward`` computes it: ``reset = heaviside(mem -
    threshold)`` of the stored (already reset) membrane, ``mem = beta*mem + input -
    reset*threshold``, ``spk = heaviside(mem - threshold)``, ``mem -= (spk - reset)*threshold``
    ("avoid double reset"), with ``beta*mem`` as ``(mem*f) >> k`` (floor). No projection: the
    caller keeps every value inside ``width`` bits (checked)."""

    def __init__(self, n, factor, bits, threshold, width):
        self.factor, self.bits, self.width = factor, bits, width
        self.threshold = list(threshold)
        self.mem = [0] * n

    def step(self, drive):
        high = (1 << (self.width - 1)) - 1
        spikes = []
        for k, x in enumerate(drive):
            theta = self.threshold[k]
            reset = 1 if self.mem[k] - theta > 0 else 0
            mem = ((self.mem[k] * self.factor) >> self.bits) + x
            assert -high - 1 <= mem <= high, "the oracle does not project"
            mem = mem - reset * theta
            spk = 1 if mem - theta > 0 else 0
            mem = mem - (spk - reset) * theta
            self.mem[k] = mem
            spikes.append(spk)
        return spikes


class XyloLayer:
    """xylosim 0.1.3 v2: ``XyloIAFNeuron`` driven by ``XyloLayer.deliver_spikes`` for external
    input only (no recurrent or readout synapses)."""

    def __init__(
        self,
        weights,
        dash_mem,
        dash_syn,
        threshold,
        bias,
        weight_shift,
        max_spikes=31,
        max_input_spikes=15,
    ):
        # weights[syn][axon][neuron], as one Xylo synapse per (axon, neuron, syn) that exists
        self.weights = weights
        self.dash_mem, self.dash_syn = dash_mem, dash_syn
        self.threshold, self.bias = threshold, bias
        self.weight_shift = weight_shift
        self.max_spikes, self.max_input_spikes = max_spikes, max_input_spikes
        n = len(weights[0][0])
        self.v = [0] * n
        self.i = [[0] * n for _ in dash_syn]

    @staticmethod
    def _decay(v, dash):
        dv = _int16(v >> dash)
        if dv == 0:
            if v > 0:
                dv = 1
            elif v < 0:
                dv = -1
        return dv

    def step(self, counts):
        n_syn = len(self.dash_syn)
        for axon, count in enumerate(counts):
            count = min(count, self.max_input_spikes)
            for neuron in range(len(self.v)):
                for syn in range(n_syn):
                    w = self.weights[syn][axon][neuron]
                    if w == 0:
                        continue  # no synapse in the sparse Xylo description
                    for _ in range(count):
                        self.i[syn][neuron] = _safe_add16(
                            self.i[syn][neuron], _int16(w << self.weight_shift)
                        )
        spikes = []
        for neuron in range(len(self.v)):
            for syn in range(n_syn):
                current = self.i[syn][neuron]
                self.i[syn][neuron] = _int16(current - self._decay(current, self.dash_syn[syn]))
            total = sum(self.i[syn][neuron] for syn in range(n_syn))
            v = self.v[neuron]
            dv = _int16(-self._decay(v, self.dash_mem))
            dv = _int16(_safe_add16(dv, total))
            dv = _safe_add16(dv, self.bias[neuron])
            v = _safe_add16(v, dv)
            fired = 0
            while v >= self.threshold[neuron]:
                if fired < self.max_spikes:
                    fired += 1
                    v = _int16(v - self.threshold[neuron])
                else:
                    break
            self.v[neuron] = v
            spikes.append(fired)
        return spikes
