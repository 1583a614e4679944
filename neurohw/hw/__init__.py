"""Amaranth hardware generators. Components read their configuration from the model's
parameter objects (``neurohw.model``) and never re-derive semantics on their own."""
