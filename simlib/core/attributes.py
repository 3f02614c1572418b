"""Event attributes: what filter policies and event patterns look at.

A source may give its events attributes (``attributes: {type: [order, refund], amount:
[5, 50, 500]}``): each event draws one value per attribute, uniformly from the list (a
value listed twice is twice as likely), from the stream ``attributes`` keyed by the
attribute's name, so adding an attribute leaves the others' draws alone. An event handed
on (an SNS delivery, an EventBridge target, a destination, a redrive) keeps its parent's
attributes. The store keeps each source's draws as arrays; an event refers to its
attributes by one integer key (source number x 2^32 + event number at the source).
"""

from __future__ import annotations

import zlib

import numpy as np

from simlib.core.streams import Streams

_SHIFT = 32


class AttributeStore:
    """Every source's drawn attributes, and the lookup of one event's."""

    def __init__(self):
        self._values: dict[int, dict[str, list]] = {}
        self.names: list[str] = []

    def draw(self, source: int, spec: dict[str, list], n: int, streams: Streams,
             identity: bool = False) -> np.ndarray:
        """Draw ``n`` events' attributes for source number ``source``; their keys (-1 when
        there is nothing to draw, unless ``identity``: the key also tells one message
        from another, for deduplication)."""
        if not spec and not identity:
            return np.full(n, -1, dtype=np.int64)
        cols = {}
        for name, values in spec.items():
            rng = streams.generator("attributes", zlib.crc32(name.encode("utf-8")))
            idx = rng.integers(0, len(values), n)
            cols[name] = [values[i] for i in idx.tolist()]
            if name not in self.names:
                self.names.append(name)
        self._values[source] = cols
        return (np.int64(source) << _SHIFT) + np.arange(n, dtype=np.int64)

    def of(self, key: int) -> dict:
        """The attributes of the event with key ``key`` (empty for -1)."""
        if key < 0:
            return {}
        cols = self._values[key >> _SHIFT]
        i = key & ((1 << _SHIFT) - 1)
        return {name: col[i] for name, col in cols.items()}

    def column(self, name: str, keys: np.ndarray) -> np.ndarray:
        """One attribute for many events (None where an event has none)."""
        out = np.full(len(keys), None, dtype=object)
        for j, key in enumerate(np.asarray(keys).tolist()):
            if key >= 0:
                cols = self._values[key >> _SHIFT]
                if name in cols:
                    out[j] = cols[name][key & ((1 << _SHIFT) - 1)]
        return out


__all__ = ["AttributeStore"]
