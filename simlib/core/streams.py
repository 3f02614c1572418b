"""Random streams keyed by what they belong to.

Every random quantity is drawn from its own ``numpy.random.Generator`` seeded from
``SeedSequence([seed, stream, *keys])``. Changing batch size or concurrency then leaves
each message's durations and failures alone (common random numbers), which is what makes
what-if comparisons sharp. There is no global random state anywhere in the model.
"""

from __future__ import annotations

import zlib

import numpy as np

# Stable stream ids: never renumber, only append (renumbering changes every result).
_STREAMS = {
    "arrivals": 1,
    "poison": 2,
    "duration": 3,
    "failure": 4,
    "init": 5,
    "malformed": 6,
    "caller": 7,
    "thinning": 8,
    "lifetime": 9,
    "recycle": 10,
    "routing": 11,
    "async": 12,
    "duplicate": 13,
    "attributes": 14,
    "delivery": 15,
    "emit": 16,
}

# Marks the end of a stream's own keys and the start of a resource's scope, so that a
# scoped key list never equals an unscoped one (their keys are small counts).
_SCOPE_MARK = 2**32 - 1
CHUNK = 1024  # draws per chunk of a growing column (GrowingKeyedColumns)


class Streams:
    """Factory of independent generators for one run's seed."""

    def __init__(self, seed: int, scope: tuple[int, ...] = ()):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed = {seed!r} is not allowed: a non-negative integer")
        self.seed = int(seed)
        self._scope = scope

    def generator(self, stream: str, *keys: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, _STREAMS[stream], *map(int, keys), *self._scope])

    def scoped(self, name: str | None) -> Streams:
        """The streams of one resource of an application, keyed by its name.

        Keyed by name (a CRC-32), not by position, so adding a resource leaves every
        other resource's draws alone. ``None`` is the unscoped streams: the short form's
        single pipeline draws from them, which keeps it bit-identical to before
        applications existed.
        """
        if name is None:
            return Streams(self.seed)
        return Streams(self.seed, (_SCOPE_MARK, zlib.crc32(name.encode("utf-8"))))


class KeyedColumns:
    """Per-message draws for attempt k, generated a whole column at a time.

    Column k holds one value per message for that message's k-th execution, drawn from
    the stream keyed by (name, k); columns appear only when some message needs them, so
    memory follows the number of attempts actually made.
    """

    def __init__(self, streams: Streams, stream: str, size: int, draw):
        self._streams, self._stream, self._size, self._draw = streams, stream, size, draw
        self.columns: list[list[float]] = []

    def column(self, k: int) -> list[float]:
        """Column k as a list (fast scalar access from the engine's hot path)."""
        while len(self.columns) <= k:
            rng = self._streams.generator(self._stream, len(self.columns))
            self.columns.append(self._draw(rng, self._size).tolist())
        return self.columns[k]


class GrowingKeyedColumns:
    """:class:`KeyedColumns` for a table that grows while the run goes on.

    An application's queues and asynchronous event queues receive events at run time
    (a destination, a dead-letter redrive), so their size is not known at the start.
    Column k is drawn in chunks of ``CHUNK`` messages, chunk c from the stream keyed by
    (name, k, c); :meth:`grow` extends every column, so ``columns[k][m]`` stays a plain
    list lookup in the hot path.
    """

    def __init__(self, streams: Streams, stream: str, draw):
        self._streams, self._stream, self._draw = streams, stream, draw
        self._size = 0  # messages covered by every column (a multiple of CHUNK)
        self.columns: list[list[float]] = []

    def _chunk(self, k: int, c: int) -> list[float]:
        return self._draw(self._streams.generator(self._stream, k, c), CHUNK).tolist()

    def grow(self, n: int) -> None:
        """Cover message ids below ``n``."""
        while self._size < n:
            c = self._size // CHUNK
            for k, col in enumerate(self.columns):
                col.extend(self._chunk(k, c))
            self._size += CHUNK

    def column(self, k: int) -> list[float]:
        while len(self.columns) <= k:
            k_new = len(self.columns)
            col: list[float] = []
            for c in range(self._size // CHUNK):
                col.extend(self._chunk(k_new, c))
            self.columns.append(col)
        return self.columns[k]


class ChunkedStream:
    """Draws for a sequence (environment 0, 1, 2, ...) generated in chunks of a stream."""

    def __init__(self, streams: Streams, stream: str, draw, chunk: int = 1024):
        self._streams, self._stream, self._draw, self._chunk = streams, stream, draw, chunk
        self._chunks: list[list[float]] = []

    def __getitem__(self, i: int) -> float:
        c, j = divmod(i, self._chunk)
        while len(self._chunks) <= c:
            rng = self._streams.generator(self._stream, len(self._chunks))
            self._chunks.append(self._draw(rng, self._chunk).tolist())
        return self._chunks[c][j]
