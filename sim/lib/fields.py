"""Packing and unpacking stream payload words by field, from ``(offset, width, signed)`` specs
(as ``NeuronCore.port_description()`` gives them)."""


def field_value(word: int, spec) -> int:
    """The field ``spec = (offset, width, signed)`` of ``word``, sign-extended if signed."""
    offset, width, signed = spec
    value = (word >> offset) & ((1 << width) - 1)
    if signed and width and value >> (width - 1):
        value -= 1 << width
    return value


def pack_fields(fields: dict, layout: dict) -> int:
    """A payload word from ``{name: value}`` and ``layout = {name: (offset, width, signed)}``;
    each value is truncated to its field's width (two's complement for negative values)."""
    word = 0
    for name, value in fields.items():
        offset, width, _ = layout[name]
        word |= (int(value) & ((1 << width) - 1)) << offset
    return word
