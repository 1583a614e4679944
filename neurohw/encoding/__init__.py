"""Input encoders: the deterministic rate code, integer population coding, and the codes with
a bit-exact hardware twin (:mod:`neurohw.hw.encoders`, ``docs/encoders.md``): the LFSR
Bernoulli rate code, the latency (time-to-first-spike) code and delta modulation."""

from .lfsr import (
    LFSR_MASKS,
    bernoulli_code,
    lfsr_advance,
    lfsr_draws,
    lfsr_is_maximal,
    lfsr_mask,
    lfsr_seeds,
    lfsr_shift,
)
from .population import MODES, PopulationCode, PopulationCodeError, cosine_code, gaussian_code
from .rate import rate_code, rate_code_accumulator, rate_total
from .temporal import REFERENCE_UPDATES, delta_code, latency, latency_code

__all__ = [
    "MODES",
    "PopulationCode",
    "PopulationCodeError",
    "cosine_code",
    "gaussian_code",
    "rate_code",
    "rate_code_accumulator",
    "rate_total",
    "LFSR_MASKS",
    "bernoulli_code",
    "lfsr_advance",
    "lfsr_draws",
    "lfsr_is_maximal",
    "lfsr_mask",
    "lfsr_seeds",
    "lfsr_shift",
    "REFERENCE_UPDATES",
    "delta_code",
    "latency",
    "latency_code",
]
