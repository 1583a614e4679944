"""The host's side of the chip's event stream (``docs/system.md``): encoding a sample's input
counts into the events the host sends, and decoding the output events it receives.

Words are integers packed with ``plan.fmt`` (:class:`neurohw.routing.EventFormat`); every event
carries the tag of the window it travels in (``window mod 2**fmt.step_width``):

* **Sent** (host -> chip), for each step ``s`` of a sample (``g = first_step + s`` the global
  step): one ``SPIKE`` event per input line with a non-zero count (or graded value) for step
  ``g`` (key ``plan.input_key(group, line)``, payload = the count when ``fmt.payload_width >
  0``, or the graded value, two's complement when signed: :func:`input_payload`), in
  ascending key order; for the last step of the sample, one ``CONTROL`` event with the host's
  tick key (end of sample); then one ``BARRIER`` tagged ``g - 1`` (key: the host's tick key). All
  these travel in window ``g - 1``. Lines whose key reaches no core (no non-zero weight) are not
  sent: routing has no entry for them.
* **Received** (chip -> host): for each window ``w``, the output populations' spikes of step
  ``w`` (key ``plan.neuron_key(core, neuron)``, count in the payload or 1), then one ``BARRIER``
  tagged ``w`` (which also says that every core has finished step ``w``).
"""

from __future__ import annotations

import numpy as np

from ..routing import EventKind
from .plan import ChipPlan
from .system import check_inputs, check_samples

__all__ = [
    "HostStreamError",
    "input_payload",
    "encode_sample",
    "encode_samples",
    "output_event_sets",
    "decode_outputs",
    "events_to_counts",
]


class HostStreamError(ValueError):
    """An event stream the host cannot read as the contract says."""


def _sample_inputs(plan: ChipPlan, inputs, steps):
    steps, batch, counts = check_inputs(plan.network, inputs, steps)
    if batch != 1:
        raise ValueError(
            f"one sample's inputs must be (steps, size) or (steps, 1, size), not a "
            f"batch of {batch}; use encode_samples for a batch"
        )
    return steps, {name: c[:, 0, :] for name, c in counts.items()}


def input_payload(plan: ChipPlan, group: str, line: int, value: int) -> int:
    """The payload field of an input event of ``group``: a count as it is, a graded value as
    is when unsigned and in two's complement of ``fmt.payload_width`` bits when signed.
    Refuses (:class:`HostStreamError`) a value the group or the payload cannot carry: the
    hardware would otherwise read a truncated number."""
    spec = plan.network.inputs[group]
    low, high = spec.value_range
    width = plan.fmt.payload_width
    if spec.graded:
        if spec.signed:
            fits = -(1 << (width - 1)) <= value < (1 << (width - 1)) if width else False
        else:
            fits = 0 <= value < (1 << width)
    else:
        fits = value == 1 if not width else 0 <= value < (1 << width)
    if not (low <= value <= high and fits):
        kind = ("signed value" if spec.signed else "value") if spec.graded else "count"
        raise HostStreamError(
            f"input {group!r} line {line}: {kind} {value} cannot be sent: "
            f"the group takes {low}..{high} and the event payload has "
            f"{width} bit(s)"
        )
    return value & ((1 << width) - 1) if width else 0


def _input_events(plan: ChipPlan, counts: dict, step: int) -> list[tuple[int, int]]:
    """``(key, payload)`` of step ``step``'s non-zero, routed input lines, ascending keys."""
    events = []
    for group, _offset in plan.input_offsets.items():
        row = counts[group][step]
        for line in np.flatnonzero(row):
            key = plan.input_key(group, int(line))
            if plan.connectivity.get(key):
                events.append((key, input_payload(plan, group, int(line), int(row[line]))))
    return sorted(events)


def encode_sample(
    plan: ChipPlan,
    inputs,
    *,
    first_step: int = 0,
    steps: int | None = None,
    end_of_sample: bool = True,
) -> list[int]:
    """The words the host sends for one sample.

    ``inputs``: ``{group: counts (steps, size)}`` (or ``(steps, 1, size)``), every group given;
    ``first_step``: the global number of the sample's step 0 (samples run back to back, so
    sample ``k`` of ``T`` steps starts at ``k * T``); ``steps``: needed only without input
    groups. The stream ends with barrier ``first_step + steps - 2``: the last window of the
    sample is closed by the next sample's first barrier, or by :func:`encode_samples`' final
    one. ``end_of_sample=False`` omits the end-of-sample control event (a sample continued
    later; state is then not cleared)."""
    fmt = plan.fmt
    steps, counts = _sample_inputs(plan, inputs, steps)
    tick = plan.tick_key(plan.host)
    words = []
    for s in range(steps):
        window = first_step + s - 1
        for key, payload in _input_events(plan, counts, s):
            words.append(fmt.pack(EventKind.SPIKE, key, window, payload))
        if end_of_sample and s == steps - 1:
            words.append(fmt.pack(EventKind.CONTROL, tick, window))
        words.append(fmt.pack(EventKind.BARRIER, tick, window))
    return words


def encode_samples(
    plan: ChipPlan, inputs, *, first_step: int = 0, steps: int | None = None
) -> list[int]:
    """The host's whole stream for a batch ``{group: (steps, batch, size)}`` run back to back,
    sample ``k`` from global step ``first_step + k * steps``, ending with the barrier that
    closes the last window (so the chip finishes and clears after the last sample)."""
    samples = check_samples(plan.network, inputs, steps)
    steps, batch = samples.steps, samples.batch
    words = []
    for k in range(batch):
        words += encode_sample(
            plan, samples.sample(k), first_step=first_step + k * steps, steps=steps
        )
    last = first_step + batch * steps - 1
    words.append(plan.fmt.pack(EventKind.BARRIER, plan.tick_key(plan.host), last))
    return words


def output_event_sets(plan: ChipPlan, words, *, steps: int, first_step: int = 0) -> list:
    """Read the host's received stream into one ``frozenset`` of ``(key, count)`` per window
    ``first_step .. first_step + steps - 1`` (the form :class:`~.plan_model.PlanTrace` gives).

    The stream holds, per window, its spike events then its barrier; leading barriers tagged
    ``first_step - 1`` (reset, or the window before) are skipped. Refused with
    :class:`HostStreamError`: a tag that is not the window's, a key that is no output neuron's,
    a key twice in a window, a count outside ``1..max``, a control event, missing barriers or
    events after the last one."""
    fmt = plan.fmt
    modulus = 1 << fmt.step_width
    events = [fmt.unpack(int(word)) for word in words]
    position = 0
    while (
        position < len(events)
        and events[position].kind == EventKind.BARRIER
        and events[position].step == (first_step - 1) % modulus
    ):
        position += 1
    outputs = set(plan.network.outputs)
    windows = []
    for t in range(steps):
        window = first_step + t
        tag = window % modulus
        seen = {}
        while True:
            if position >= len(events):
                raise HostStreamError(
                    f"the stream ends before the barrier of window {window} "
                    f"({len(windows)} of {steps} windows complete)"
                )
            event = events[position]
            where = f"event {position} ({event!r}) in window {window}"
            position += 1
            if event.step != tag:
                raise HostStreamError(f"{where}: step tag {event.step}, expected {tag}")
            if event.kind == EventKind.BARRIER:
                break
            if event.kind != EventKind.SPIKE:
                raise HostStreamError(f"{where}: only spikes and barriers reach the host")
            try:
                source, neuron = plan.source_of_key(event.key)
            except KeyError:
                source = None
            if source not in outputs:
                raise HostStreamError(
                    f"{where}: key {event.key:#x} is no output neuron's (sent by {source!r})"
                )
            count = event.payload if fmt.payload_width else 1
            if not 1 <= count <= plan.network.max_count(source):
                raise HostStreamError(
                    f"{where}: count {count} outside 1..{plan.network.max_count(source)}"
                )
            if event.key in seen:
                raise HostStreamError(f"{where}: key {event.key:#x} twice in one window")
            seen[event.key] = count
        windows.append(frozenset(seen.items()))
    if position != len(events):
        raise HostStreamError(
            f"{len(events) - position} event(s) after the barrier of window "
            f"{first_step + steps - 1}, first {events[position]!r}"
        )
    return windows


def events_to_counts(plan: ChipPlan, windows) -> dict:
    """``{output population: (steps, size) int64 counts}`` from one ``(key, count)`` set per
    window (as :func:`output_event_sets` returns)."""
    out = {
        name: np.zeros((len(windows), plan.network.populations[name].size), dtype=np.int64)
        for name in plan.network.outputs
    }
    for t, events in enumerate(windows):
        for key, count in events:
            source, neuron = plan.source_of_key(key)
            if source not in out:
                raise HostStreamError(
                    f"window {t}: key {key:#x} is no output neuron's (sent by {source!r})"
                )
            out[source][t, neuron] = count
    return out


def decode_outputs(plan: ChipPlan, words, *, steps: int, first_step: int = 0) -> dict:
    """``{output population: (steps, size) int64 spike counts}`` from the host's received
    stream of windows ``first_step .. first_step + steps - 1`` (one sample: ``first_step = k *
    T``); checked as :func:`output_event_sets` does."""
    return events_to_counts(
        plan, output_event_sets(plan, words, steps=steps, first_step=first_step)
    )
