"""Exceptions shared by several layers of neurohw."""

from __future__ import annotations

__all__ = ["VerificationError"]


class VerificationError(AssertionError):
    """The hardware did not match the reference model, or could not be built or simulated to
    check it (:class:`neurohw.sim.runner.CocotbTestFailure` is one).

    An ``AssertionError``, so a test that verifies a design fails (rather than errors) on it."""
