"""A sweep's runs file: tidy rows written one at a time, so a stopped sweep keeps them.

``simlib sweep --out F`` appends and flushes each finished run's row (a CSV journal; for
Parquet a side file ``F.parquet.partial.csv``), rewrites the file in plan order at the
end, and with ``--resume`` runs only what the file lacks. Kept apart from
:mod:`simlib.sweep`, which plans and runs sweeps and knows nothing of files.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

# Reading a CSV file back must give the very floats written. pandas 3 reads them exactly
# by default (and deprecates the option); pandas 2's default parser can be 1 ulp off.
_EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


class RunsFileError(ValueError):
    """An existing runs file that this sweep cannot resume (other columns, unreadable)."""


def _canon(value):
    """A swept value or seed as a comparable key: ``10``, ``10.0`` and ``"10"`` agree, as
    do ``True`` and ``"True"``, and ``None``, NaN and an empty cell; so a value read back
    from a CSV file matches the one the plan holds."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    else:
        text = str(value)
        if text == "":
            return None
        try:
            number = float(text)
        except ValueError:
            return text
    return None if math.isnan(number) else number


class RunsFile:
    """A sweep's tidy runs on disk, written a row at a time, and resumable.

    Why a row at a time: a long sweep stopped by Ctrl-C, a closed terminal or a killed
    job must keep every run it finished, and a later ``resume`` must not redo them.

    - CSV: each row is appended and flushed as it arrives (arrival order, not plan
      order; every row carries its swept values and seed, so nothing is ambiguous).
      :meth:`finish` then rewrites the file in plan order, through a temporary file and
      a rename, so the finished file is the same whichever worker finished first, and a
      kill during the rewrite leaves the rows as they were.
    - Parquet: a Parquet file is written whole (its footer comes last), so the rows go
      to a CSV side file, ``<name>.parquet.partial.csv``, which :meth:`finish` turns
      into the Parquet file and then removes. A stopped sweep leaves the side file.

    Every row is written by pandas and the finished file is pandas' reading of them
    written again, so a column's format (``0`` next to ``0.5`` becomes ``0.0``) is the
    whole column's, as in a frame written at once, and a resumed sweep's file is the
    same as an uninterrupted one's.

    ``open(runs, resume=True)`` reads what the file (or the side file) already holds,
    refuses with :class:`RunsFileError` if its columns are not ``columns``, drops a
    last line cut short by a kill, and returns the plan indices still missing; a row
    matches a run when its swept values and seed are the run's (as values, so ``10``
    matches ``10.0``). Rows of other points are kept, after the plan's.
    """

    def __init__(self, path: str | os.PathLike, columns: Sequence[str],
                 swept: Sequence[str]):
        self.path = Path(path)
        self.columns = list(columns)
        self.keys = [*swept, "seed"]
        missing = [k for k in self.keys if k not in self.columns]
        if missing:
            raise ValueError(f"key columns {missing} are not among the columns")
        self.parquet = self.path.suffix == ".parquet"
        self.journal = (self.path.with_name(self.path.name + ".partial.csv") if self.parquet
                        else self.path)
        self.kept = 0  # rows found in the file when resuming
        self.written = 0  # rows appended since open()
        self._file = None
        self._runs: list[tuple[dict, int]] = []

    # -- writing ------------------------------------------------------------------------

    def open(self, runs: Sequence[tuple[dict, int]], resume: bool = False) -> list[int]:
        """Start (or, with ``resume``, continue) the file; the plan indices left to run."""
        self._runs = list(runs)
        existing = self._read_existing() if resume else None
        if existing is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.journal, "w", encoding="utf-8", newline="")
            self._file.write(pd.DataFrame(columns=self.columns).to_csv(index=False))
            self._file.flush()
            self.kept = 0
            return list(range(len(self._runs)))
        header, records = existing
        if header != self.columns:
            missing = [c for c in self.columns if c not in header]
            extra = [c for c in header if c not in self.columns]
            detail = "; ".join(part for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"not in this sweep: {', '.join(extra)}" if extra else "",
                "" if missing or extra else "in another order") if part)
            raise RunsFileError(f"its columns are not this sweep's ({detail})")
        self.kept = len(records)
        done = {self._record_key(header, record) for record in records}
        self._file = open(self.journal, "a", encoding="utf-8", newline="")
        return [i for i, (changes, s) in enumerate(self._runs)
                if self._run_key(changes, s) not in done]

    def append(self, row: Mapping) -> None:
        """Write one finished row and flush it, so it survives this process's death."""
        if set(row) != set(self.columns):
            raise ValueError(f"a row with columns {sorted(row)} does not fit {self.path}")
        line = pd.DataFrame([row], columns=self.columns).to_csv(header=False, index=False)
        self._file.write(line)
        self._file.flush()
        self.written += 1

    def close(self) -> None:
        """Stop writing, leaving the rows as they are (an interrupted sweep)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def finish(self) -> pd.DataFrame:
        """Write the final file, rows in plan order; returns the rows of the plan's runs."""
        self.close()
        header, records = self._read_journal()
        frame = pd.read_csv(self.journal, **_EXACT_FLOATS)
        if len(frame) != len(records):  # both read the same file; a mismatch is a bug
            raise RunsFileError(f"{self.journal}: read {len(frame)} rows, expected "
                                f"{len(records)}")
        where = {}
        for position, record in enumerate(records):
            where.setdefault(self._record_key(header, record), position)
        ordered, taken = [], set()
        for changes, s in self._runs:
            position = where.get(self._run_key(changes, s))
            if position is not None and position not in taken:
                ordered.append(position)
                taken.add(position)
        others = [p for p in range(len(records)) if p not in taken]
        final = frame.iloc[ordered + others]
        temporary = self.path.with_name(self.path.name + ".tmp")
        if self.parquet:
            final.to_parquet(temporary, index=False)
        else:
            final.to_csv(temporary, index=False)
        os.replace(temporary, self.path)
        if self.parquet:
            self.journal.unlink()
        return frame.iloc[ordered].reset_index(drop=True)

    # -- reading ------------------------------------------------------------------------

    def _run_key(self, changes: Mapping, seed: int) -> tuple:
        values = {**changes, "seed": seed}
        return tuple(_canon(values[k]) for k in self.keys)

    def _record_key(self, header: list[str], record: list[str]) -> tuple:
        return tuple(_canon(record[header.index(k)]) for k in self.keys)

    def _read_existing(self) -> tuple[list[str], list[list[str]]] | None:
        """The header and rows already there, or None when there is nothing to resume."""
        if not self.journal.exists() and self.parquet and self.path.exists():
            try:  # a finished Parquet file: continue from a side file of its rows
                pd.read_parquet(self.path).to_csv(self.journal, index=False)
            except Exception as exc:  # pyarrow's errors have no common base
                raise RunsFileError(f"cannot read it as Parquet ({exc})") from None
        if not self.journal.exists() or self.journal.stat().st_size == 0:
            return None
        with open(self.journal, "rb+") as f:  # drop a last line cut short by a kill
            data = f.read()
            if not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)
        if self.journal.stat().st_size == 0:
            return None
        return self._read_journal()

    def _read_journal(self) -> tuple[list[str], list[list[str]]]:
        try:
            with open(self.journal, encoding="utf-8", newline="") as f:
                rows = list(csv.reader(f))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise RunsFileError(f"cannot read it as CSV ({exc})") from None
        header, records = rows[0], rows[1:]
        short = next((n for n, r in enumerate(records, 2) if len(r) != len(header)), None)
        if short is not None:
            raise RunsFileError(f"line {short} has not the {len(header)} fields of its "
                                f"header")
        return header, records
