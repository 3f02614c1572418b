"""Build ``simlib/data/runtime_init.csv``: measured Lambda INIT durations per managed runtime.

Why: the simulator draws each cold start's platform INIT time from real measurements
rather than from a guessed constant, so the runtime choice (Python vs Java vs Go...)
moves the cold-start tail the way it does on AWS. The source is two daily snapshots of
the public lambda-perf benchmark (maxday/lambda-perf, Apache-2.0): a hello-world
function per runtime, ten forced cold starts a day per memory size and architecture.
This script turns those JSON files into one tidy, sorted CSV that ``simlib.runtimes``
reads; keeping the step as a script makes the CSV reproducible and reviewable.

What is kept: zip packages of AWS managed runtimes (pythonX.Y, nodejsNN.x, javaNN and
``javaNN snapstart``, dotnet8/dotnet10 managed, rubyX.Y) plus Go and Rust on
``provided.al2023``, recorded as ``go`` and ``rust``; retired runtimes (python3.8,
nodejs16.x, nodejs18.x, dotnet6, java8.al2) are dropped. Container images, AOT builds,
GraalVM, Bun, LLRT and the other custom-runtime curiosities are left out. For SnapStart
rows the value is the Restore Duration, not an INIT duration.

Re-run from the repository root (the default input is ``data/lambda-perf/``, where the
two snapshots are put by hand and not committed; the output is the package's copy)::

    python data/make_runtime_init.py
    python data/make_runtime_init.py --input-dir /path/to/lambda-perf --output out.csv
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = REPO_ROOT / "data" / "lambda-perf"
# Package data: simlib.runtimes reads it with importlib.resources.
DEFAULT_OUTPUT = REPO_ROOT / "simlib" / "data" / "runtime_init.csv"
SNAPSHOTS = ("2025-10-18.json", "2026-08-22.json")
SOURCE = "maxday/lambda-perf daily snapshot (Apache-2.0)"
COLUMNS = ("runtime", "snapstart", "architecture", "memory_mb", "init_ms",
           "snapshot_date", "source")

# Display names that already are AWS runtime identifiers. dotnet6 and java8.al2 are
# deliberately not matched; "aot" and "(prov.*)" variants never match these patterns.
_MANAGED = re.compile(r"(python3\.\d+|nodejs\d+\.x|java\d+|dotnet(?:8|10)|ruby3\.\d+)")
_SNAPSTART = re.compile(r"(java\d+) snapstart")
_PROVIDED = {"go (prov.al2023)": "go", "rust (prov.al2023)": "rust"}
# Deprecated by AWS and already dropped from the later snapshot: not offered to users.
_RETIRED = {"python3.8", "nodejs16.x", "nodejs18.x"}


def runtime_id(display: str) -> tuple[str, bool] | None:
    """Map a lambda-perf display name to (AWS runtime id, snapstart), or None to skip."""
    if display in _RETIRED:
        return None
    if _MANAGED.fullmatch(display):
        return display, False
    if m := _SNAPSTART.fullmatch(display):
        return m.group(1), True
    if display in _PROVIDED:
        return _PROVIDED[display], False
    return None


def build_rows(input_dir: Path) -> list[dict]:
    """Read every snapshot in ``input_dir`` and return the tidy rows, sorted."""
    rows = []
    for name in SNAPSHOTS:
        doc = json.loads((Path(input_dir) / name).read_text())
        date = doc["metadata"]["generatedAt"][:10]
        for cfg in doc["runtimeData"]:
            mapped = runtime_id(cfg["d"])
            if cfg["p"] != "zip" or mapped is None:
                continue
            runtime, snapstart = mapped
            for value in cfg["i"]:
                rows.append({
                    "runtime": runtime,
                    "snapstart": snapstart,
                    "architecture": cfg["a"],
                    "memory_mb": int(cfg["m"]),
                    "init_ms": float(value),
                    "snapshot_date": date,
                    "source": SOURCE,
                })
    rows.sort(key=lambda r: tuple(r[c] for c in COLUMNS))
    return rows


def render_csv(rows: list[dict]) -> str:
    """Format rows as CSV text with a fixed layout, so reruns are byte-identical."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([r["runtime"], r["snapstart"], r["architecture"], r["memory_mb"],
                         f"{r['init_ms']:.2f}", r["snapshot_date"], r["source"]])
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", type=Path, default=DEFAULT_INPUT,
                        help=f"folder holding the lambda-perf snapshots (default {DEFAULT_INPUT})")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"CSV to write (default {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    missing = [name for name in SNAPSHOTS if not (args.input_dir / name).is_file()]
    if missing:
        parser.exit(2, f"{parser.prog}: --input-dir {args.input_dir} lacks the lambda-perf "
                       f"snapshots {', '.join(missing)} (see data/README.md)\n")
    rows = build_rows(args.input_dir)
    args.output.write_text(render_csv(rows))
    print(f"wrote {len(rows)} rows to {args.output}")


if __name__ == "__main__":
    main()
