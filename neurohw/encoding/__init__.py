"""Input encoders: the deterministic rate code and integer population coding."""

from .population import (MODES, PopulationCode, PopulationCodeError, cosine_code,
                         gaussian_code)
from .rate import rate_code, rate_code_accumulator, rate_total

__all__ = ["MODES", "PopulationCode", "PopulationCodeError", "cosine_code", "gaussian_code",
           "rate_code", "rate_code_accumulator", "rate_total"]
