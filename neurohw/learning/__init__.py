"""Learning examples built on the integer network model (STDP, docs/learning.md)."""
