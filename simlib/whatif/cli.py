"""The command line: ``simlib run``, ``simlib lint`` and ``simlib sweep``.

The library returns data and never prints; this module is the one place that does. It
reads a scenario file or a SAM / CloudFormation template, runs it, and prints what a
person wants to see in a terminal: the KPI table, the linter's findings, or a sweep's
mean and 95 % confidence interval per point.

Conventions a script can rely on:

- Exit codes: 0 success; 1 ``lint`` found an error (with ``--strict``, also a warning),
  or some runs of a ``sweep`` failed (their worker process died twice; each is named
  on stderr, the other rows are printed and written); 2 bad input (missing file,
  unknown path, value out of range, bad ``--set``, an optional package that the
  command needs is missing); 130 interrupted; 141 stdout closed early (``simlib lint
  x | head``). Bad input is reported as one ``simlib: error: ...`` line on stderr,
  never as a traceback.
- Results go to stdout; progress bars and notes ("wrote ...", wall time) go to stderr.
- Progress bars (tqdm) appear only once the work has taken more than a second, and only
  when stderr is a terminal; ``--progress`` forces them on (a CI log), ``--no-progress``
  off.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import shutil
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from simlib.core.application import Application
from simlib.core.application_result import APPLICATION_SUMMARY_KEYS
from simlib.core.errors import ScenarioError
from simlib.core.results import SUMMARY_KEYS
from simlib.core.scenario import Scenario
from simlib.engine import simulate

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141
FRAMES = ("messages", "invocations", "timeseries", "cost")
APPLICATION_FRAMES = ("edges", "resources")  # an application's frames beyond those
# A sweep prints these unless --kpis says otherwise: what the lessons' sweeps watch.
SWEEP_KPIS = ("duplicate_executions", "messages_dlq", "throttles", "latency_p99_s",
              "cost_per_million_usd")
DEFAULT_REPLICATIONS = 5  # seeds per point of a sweep when --replications is not given
_NULLS = {"None", "none"}  # YAML's own null spellings (null, ~) load as None already


class UsageError(Exception):
    """Bad command-line input: reported as one line on stderr, exit code 2."""


# -- parsing helpers ------------------------------------------------------------------------


def parse_scalar(path: str, text: str):
    """One ``--set`` value as a YAML scalar: ``60`` -> 60, ``1e3`` -> 1000.0, ``true``,
    ``null`` (or ``None``) -> None, anything else a string."""
    import yaml

    text = text.strip()
    if not text:
        raise UsageError(f"--set {path}: empty value (write null for no value)")
    if text in _NULLS:
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise UsageError(f"--set {path}={text}: not a YAML scalar") from None
    except ValueError as exc:  # a date that is no date; an integer of too many digits
        what = (f"a number of {len(text):,} characters is too large to hold"
                if "digits" in str(exc) else f"{text[:40]!r} cannot be read ({exc})")
        raise UsageError(f"--set {path}: {what}") from None
    if isinstance(value, str):
        try:  # YAML 1.1 reads 1e3 as a string; a number is meant
            return float(value) if re.fullmatch(r"[-+]?[\d.]+[eE][-+]?\d+", value) else value
        except ValueError:
            return value
    if isinstance(value, (dict, list)):
        raise UsageError(f"--set {path}={text}: a single value is needed, not a "
                         f"{type(value).__name__}")
    return value


def parse_assignment(text: str, many: bool) -> tuple[str, list]:
    """``path=value`` (``run``) or ``path=v1,v2,...`` / ``path=[v1, v2]`` (``sweep``)."""
    path, sep, raw = text.partition("=")
    path = path.strip()
    # segments are identifiers, or an application's resource names (which may hold "-")
    if not sep or not path or not re.fullmatch(r"[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*", path):
        example = "queue.visibility_timeout_s=" + ("10,30,60" if many else "60")
        raise UsageError(f"--set {text!r}: expected PATH=VALUE{'S' if many else ''}, "
                         f"e.g. {example}")
    raw = raw.strip()
    if not many:
        return path, [parse_scalar(path, raw)]
    if raw.startswith("[") and raw.endswith("]"):
        raw = raw[1:-1]
    return path, [parse_scalar(path, item) for item in raw.split(",")]


def parse_changes(items: Sequence[str] | None) -> dict:
    """``--set`` options of ``run``: dotted path -> value (a later one wins)."""
    return {path: values[0] for path, values in (parse_assignment(t, False) for t in items or ())}


def parse_grid(items: Sequence[str] | None) -> dict:
    """``--set`` options of ``sweep``: dotted path -> list of values, one axis each."""
    if not items:
        raise UsageError("sweep needs at least one --set PATH=V1,V2,... "
                         "(e.g. --set queue.visibility_timeout_s=10,30,60)")
    grid: dict[str, list] = {}
    for text in items:
        path, values = parse_assignment(text, True)
        if path in grid:
            raise UsageError(f"--set {path}: given twice; list all its values in one --set")
        grid[path] = values
    return grid


def sweep_replications(grid: dict, replications: int | None) -> int:
    """``--replications`` (None: not given, so the default 5), checked against the grid.

    Why: with one value per ``--set`` and no ``--replications``, a sweep is a single point,
    a one-row table that looks like a comparison but compares nothing. A sweep needs two
    or more values on some axis, or an explicit ``--replications`` of 2 or more (one
    point's spread over seeds); one run of one point is ``simlib run``.
    """
    if any(len(values) > 1 for values in grid.values()) or (replications or 0) >= 2:
        return DEFAULT_REPLICATIONS if replications is None else replications
    path, values = next(iter(grid.items()))
    raise UsageError(f"sweep needs two or more values for some --set (here {path}="
                     f"{values[0]} only; e.g. --set {path}=V1,V2) or --replications >= 2; "
                     "for one run of one point use simlib run")


def parse_kpis(text: str | None, default: Sequence[str],
               known: Sequence[str] = SUMMARY_KEYS) -> list[str]:
    """``--kpis a,b,c`` (or ``all``) checked against the summary's KPI names (``known``:
    an application's summary has a few more)."""
    if text is None:
        return list(default)
    if text.strip() == "all":
        return list(known)
    kpis = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kpis if k not in known]
    if unknown or not kpis:
        raise UsageError(f"--kpis {text!r}: unknown KPI {', '.join(unknown) or '(none given)'}; "
                         f"known: {', '.join(known)}")
    return kpis


def installed(module: str) -> bool:
    """Whether an optional package can be imported (checked before any long work)."""
    return importlib.util.find_spec(module) is not None


def _need_pyarrow(what: str) -> None:
    if not installed("pyarrow"):
        raise UsageError(f"{what} needs pyarrow, which is not installed: pip install pyarrow (or serverless-lab[parquet])")


def _existing_file(path: str, what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{what} {path!r} does not exist or is not a file")
    return p


# -- loading -------------------------------------------------------------------------------


def parse_parameters(items: Sequence[str] | None) -> dict:
    """``--parameter Name=Value`` (repeatable), as ``sam deploy --parameter-overrides``:
    the value is kept as text, as CloudFormation passes parameters."""
    out = {}
    for text in items or ():
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--parameter {text!r}: expected Name=Value, e.g. "
                             "--parameter Stage=prod")
        out[name.strip()] = value
    return out


def load_pipelines(args, changes: dict | None = None, one: bool = False
                   ) -> dict[str, Scenario]:
    """The file's pipelines (one for a scenario file), ``--pipeline`` chosen first.

    ``changes`` (``--set``) that name a template's own values are applied before the
    template is validated; every assumption the reading made is printed as a note.
    """
    return _load(args, changes, one).runs


def _load(args, changes: dict | None = None, one: bool = False):
    """:func:`load_pipelines`, as a :class:`~simlib.whatif.inputs.Loaded` whose ``rest``
    holds the ``--set`` changes left for the scenarios."""
    from simlib.whatif.inputs import Loaded, SelectionError, load
    from simlib.whatif.scenario_file import load_overlay

    path = _existing_file(args.file, "FILE")
    if getattr(args, "application", False):
        return Loaded(_template_application(path, args, changes), rest=dict(changes or {}))
    overlay = None
    if getattr(args, "overlay", None):
        overlay = load_overlay(_existing_file(args.overlay, "--overlay"))
    try:
        loaded = load(path, overlay=overlay, parameters=parse_parameters(args.parameter),
                      pipeline=args.pipeline, changes=changes)
    except SelectionError as exc:
        raise UsageError(str(exc)) from None
    if one and len(loaded.runs) > 1:
        raise UsageError(f"{args.file} holds {len(loaded.runs)} pipelines; choose one with "
                         f"--pipeline ({', '.join(loaded.runs)})")
    for note in loaded.notes:
        print(f"simlib: note: {note}", file=sys.stderr)
    return loaded


def application_paths(changes: dict) -> dict:
    """``--set`` paths for a template read as one application: the template's resource
    paths (``functions.Worker.memory_mb``, ``queues.Jobs.visibility_timeout_s``,
    ``mappings.Worker.Events.Jobs.batch_size``) name the same resources as
    ``resources.<name>.<field>`` does."""
    from simlib.whatif.inputs import RESOURCE_KINDS
    from simlib.whatif.template_app import resource_name

    out = {}
    for path, value in changes.items():
        parts = path.split(".")
        if parts[0] in RESOURCE_KINDS and len(parts) >= 3:
            path = f"resources.{resource_name('.'.join(parts[1:-1]))}.{parts[-1]}"
        out[path] = value
    return out


def _template_application(path: Path, args, changes: dict | None = None) -> dict:
    """``--application``: the template as one application, its notes on stderr.

    ``changes`` (``--set``, in application paths) are laid on the resources before the
    application is validated, as the overlay's ``resources`` section is."""
    import yaml

    from simlib.whatif.scenario_file import BoundedLoader, read_text
    from simlib.whatif.template import is_template, load_document
    from simlib.whatif.template_app import application_from_template

    if not is_template(load_document(path)):
        raise UsageError(f"--application reads a SAM or CloudFormation template; {path} is "
                         "not one (an application file needs no flag)")
    if args.pipeline is not None:
        raise UsageError("--pipeline and --application do not go together: the application "
                         "is the whole template")
    overlay = {}
    if getattr(args, "overlay", None):
        ov = _existing_file(args.overlay, "--overlay")
        loader = BoundedLoader(read_text(ov))
        try:
            overlay = loader.get_single_data() or {}
        except yaml.YAMLError as exc:
            raise UsageError(f"--overlay {ov}: not valid YAML ({exc.problem})") from None
        finally:
            loader.dispose()
        if not isinstance(overlay, dict):
            raise UsageError(f"--overlay {ov}: a mapping of sections (workload, function, "
                             "handler, resources, account, run)")
    for key, value in (changes or {}).items():
        parts = key.split(".")
        if parts[0] == "resources" and len(parts) == 3:
            resources = overlay.setdefault("resources", {})
            if isinstance(resources, dict):
                entry = resources.setdefault(parts[1], {})
                if isinstance(entry, dict):
                    entry[parts[2]] = value
    app, notes = application_from_template(path, overlay, parse_parameters(args.parameter))
    for note in notes:
        print(f"simlib: note: {note}", file=sys.stderr)
    return {path.stem: app}


# -- progress ------------------------------------------------------------------------------


@contextmanager
def progress_bar(show: bool | None, total: int, desc: str, delay: float = 1.0):
    """A tqdm bar on stderr, drawn once the work has taken ``delay`` seconds.

    ``show`` None: only when stderr is a terminal (tqdm's own check). tqdm draws only
    when its count moves, so a ticker thread redraws the bar twice a second: a single
    long run still shows up, with its elapsed time. The ticker only reads the bar (under
    tqdm's lock); counting stays with the caller's thread.
    """
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="run", file=sys.stderr, delay=delay,
               disable=None if show is None else not show, leave=True)
    stop, drawn = threading.Event(), threading.Event()

    def tick():
        while not stop.wait(0.5):
            if time.time() >= bar.start_t + delay:
                bar.refresh()
                drawn.set()

    ticker = threading.Thread(target=tick, daemon=True)
    if not bar.disable:
        ticker.start()
    try:
        yield bar
    finally:
        stop.set()
        if ticker.is_alive():
            ticker.join()
        if drawn.is_set():  # tell close() the line is on screen, so it finishes it
            bar.last_print_t = max(bar.last_print_t, time.time())
        bar.close()


# -- output --------------------------------------------------------------------------------


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "pipeline"


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


def write_result(result, name: str, seed: int, out_dir: Path, fmt: str) -> Path:
    """``out_dir/<pipeline>/{messages,invocations,timeseries,cost,summary}.<fmt>``."""
    folder = out_dir / _safe_name(name)
    folder.mkdir(parents=True, exist_ok=True)
    frames = FRAMES + (APPLICATION_FRAMES if hasattr(result, "edges") else ())
    for frame_name in frames:
        _write(getattr(result, frame_name), folder / f"{frame_name}.{fmt}", fmt)
    summary = pd.DataFrame([{"pipeline": name, "seed": seed, **result.summary}])
    _write(summary, folder / f"summary.{fmt}", fmt)
    return folder


def _kpi_kind(key: str) -> str:
    from simlib.lessons.plotting import kpi_kind

    kind = kpi_kind(key)
    return "number" if kind == "count" else kind  # a mean of counts keeps its decimals


def sweep_table(summary: pd.DataFrame, by: Sequence[str], kpis: Sequence[str]) -> pd.DataFrame:
    """One row per point: the swept values, ``n``, and ``mean ± half-width`` per KPI."""
    from simlib.lessons.plotting import format_value

    table = summary[list(by)].copy()
    table["n"] = summary["n"]
    for key in kpis:
        kind = _kpi_kind(key)
        cells = []
        for mean, half in zip(summary[f"{key}_mean"], summary[f"{key}_ci95"]):
            text = format_value(mean, kind)
            if not (half is None or math.isnan(half)):
                text += f" ± {format_value(half, kind)}"
            cells.append(text)
        table[key] = cells
    return table


# -- commands ------------------------------------------------------------------------------


def cmd_run(args) -> int:
    from simlib.lessons.plotting import DEFAULT_KPIS, kpi_table

    changes = parse_changes(args.set)
    if args.application:
        changes = application_paths(changes)
    if args.out and args.format == "parquet":
        _need_pyarrow("--format parquet")
    loaded = _load(args, changes)
    pipelines, changes = loaded.runs, loaded.rest
    known = SUMMARY_KEYS
    if any(isinstance(p, Application) for p in pipelines.values()):
        known = APPLICATION_SUMMARY_KEYS
    kpis = parse_kpis(args.kpis, known if args.json else DEFAULT_KPIS, known)
    scenarios = {}
    for name, scenario in pipelines.items():
        try:
            scenarios[name] = scenario.with_changes(changes) if changes else scenario
        except ScenarioError as exc:
            if len(pipelines) == 1:
                raise
            raise UsageError(f"pipeline {name}: {exc}") from None
    for name, scenario in scenarios.items():  # e.g. a deprecated runtime: one line each
        for text in scenario.warnings:
            print(f"simlib: warning: {name}: {text}", file=sys.stderr)
    results = {}
    written = []
    with progress_bar(args.progress, len(scenarios), "simulating") as bar:
        for name, scenario in scenarios.items():
            bar.set_postfix_str(name, refresh=False)
            results[name] = simulate(scenario, seed=args.seed)
            if args.out:
                written.append(write_result(results[name], name, args.seed, Path(args.out),
                                            args.format))
            bar.update(1)
    if args.json:
        out = {name: {k: _jsonable(r.summary[k]) for k in kpis} for name, r in results.items()}
        print(json.dumps(out, indent=2))
    else:
        print(kpi_table(results, kpis).to_string())
    for folder in written:
        names = FRAMES + (APPLICATION_FRAMES if (folder / f"edges.{args.format}").exists() else ())
        print(f"wrote {', '.join(names)}, summary ({args.format}) to {folder}", file=sys.stderr)
    return EXIT_OK


def cmd_lint(args) -> int:
    """Lint each FILE; the exit code is the worst file's (2 when one could not be read).

    With one FILE bad input is raised (one error line, nothing on stdout); with several,
    a bad file is named on stderr and the others are still linted and reported (a
    pre-commit hook passes many files at once).
    """
    from simlib.whatif.lint import findings_table, lint_path
    from simlib.whatif.sarif import sarif_log
    from simlib.whatif.scenario_file import load_overlay

    parameters = parse_parameters(args.parameter)
    overlay = load_overlay(_existing_file(args.overlay, "--overlay")) if args.overlay else None
    reports, failures, summaries, seen, code = {}, {}, [], set(), EXIT_OK
    for name in args.files:
        try:
            path = _existing_file(name, "FILE")
            if path.resolve() in seen:  # the same file twice: once
                continue
            seen.add(path.resolve())
            notes: list[str] = []
            findings = lint_path(path, parameters=parameters or None, overlay=overlay,
                                 notes=notes)
            if not args.quiet:  # what the reading assumed: stderr, so stdout stays the report
                prefix = f"{path}: " if len(args.files) > 1 else ""
                for note in notes:
                    print(f"simlib: note: {prefix}{note}", file=sys.stderr)
        except (ScenarioError, UsageError) as exc:
            if len(args.files) == 1:
                raise
            print(f"simlib: error: {exc}", file=sys.stderr)
            failures[name], code = str(exc), EXIT_USAGE
            continue
        reports[path] = findings
        errors = sum(f.severity == "error" for f in findings)
        infos = sum(f.severity == "info" for f in findings)
        warnings = len(findings) - errors - infos
        summaries.append(f"{path}: {errors} error{'s' * (errors != 1)}, "
                         f"{warnings} warning{'s' * (warnings != 1)}"
                         + (f", {infos} info" if infos else ""))
        if errors > 0 or (args.strict and warnings > 0):
            code = max(code, EXIT_FINDINGS)
    if args.format == "sarif":
        report = json.dumps(sarif_log(reports, failures), indent=2)
    elif args.format == "json":
        records = []
        for path, findings in reports.items():
            rows = findings_table(findings).to_dict(orient="records")
            # several files: each record says which (one file: the records as before)
            records += rows if len(args.files) == 1 else [{"file": str(path)} | r for r in rows]
        report = json.dumps(records, indent=2)
    else:
        width = min(shutil.get_terminal_size((100, 24)).columns, 100)
        lines = []
        for (path, findings), summary in zip(reports.items(), summaries):
            for f in findings:
                lines.append(f"{f.severity.upper():7} {f.resource}  [{f.rule}]")
                for label, text in (("", f.message), ("why: ", f.why), ("fix: ", f.fix)):
                    lines.append(textwrap.fill(label + text, width, initial_indent=" " * 8,
                                               subsequent_indent=" " * 13 if label else " " * 8))
            lines.append(summary)
        report = "\n".join(lines)
    if args.output:
        Path(args.output).write_text(report + "\n", encoding="utf-8")
    elif report:  # (text with every file unreadable: nothing)
        print(report)
    if args.output or args.format != "text":  # stdout holds no summary: say it on stderr
        for summary in summaries:
            print(summary, file=sys.stderr)
    if args.output:
        print(f"wrote the {args.format} report to {args.output}", file=sys.stderr)
    return code


def cmd_sweep(args) -> int:
    from simlib.whatif.runs_file import RunsFile, RunsFileError
    from simlib.whatif.sweep import SweepError, cpu_count, execute, plan, summarize

    grid = parse_grid(args.set)
    if args.application:
        grid = application_paths(grid)
    kpis = parse_kpis(args.kpis, SUMMARY_KEYS if args.json else SWEEP_KPIS)
    out = Path(args.out) if args.out else None
    if args.resume and out is None:
        raise UsageError("--resume needs --out FILE, the file of the sweep to continue")
    if out is not None:
        if out.suffix not in (".csv", ".parquet"):
            raise UsageError(f"--out {args.out!r}: the file name must end in .csv or .parquet")
        if out.suffix == ".parquet":
            _need_pyarrow("--out *.parquet")
    if args.scheduler and not installed("distributed"):
        raise UsageError("--scheduler needs dask.distributed, which is not installed: "
                         "pip install 'serverless-lab[dask]'")
    args.replications = sweep_replications(grid, args.replications)
    # a template's own values swept start at their first value, so that the base the
    # grid is laid on is the template as the sweep will change it
    pipelines = load_pipelines(args, {k: v[0] for k, v in grid.items()}, one=True)
    base = next(iter(pipelines.values()))
    runs = plan(base, grid, args.replications, args.seed)  # every point checked first
    workers = args.workers or cpu_count()
    where = f"Dask scheduler {args.scheduler}" if args.scheduler else (
        "1 process" if workers == 1 else f"{workers} worker processes")
    # --out is written a row at a time (RunsFile), so a stopped sweep keeps its rows
    runs_file, todo = None, list(range(len(runs)))
    if out is not None:
        runs_file = RunsFile(out, [*grid, "seed", *SUMMARY_KEYS], list(grid))
        try:
            todo = runs_file.open(runs, resume=args.resume)
        except RunsFileError as exc:
            raise UsageError(f"--resume {args.out}: {exc}") from None
        if args.resume:
            print(f"resuming {out}: {runs_file.kept} rows already there, {len(todo)} runs "
                  f"to go", file=sys.stderr)
    on_row = None if runs_file is None else (lambda index, row: runs_file.append(row))
    failures = []
    start = time.perf_counter()
    try:
        with progress_bar(args.progress, len(todo), "sweep") as bar:
            rows = execute(base, [runs[i] for i in todo],
                           lambda done, total: bar.update(done - bar.n),
                           workers=workers, scheduler=args.scheduler, on_row=on_row)
    except SweepError as exc:  # some runs killed their worker; the others are in
        rows, failures = exc.rows, exc.failures
    except BaseException:
        if runs_file is not None:
            runs_file.close()
            print(f"simlib: {runs_file.kept + runs_file.written} finished runs are in "
                  f"{runs_file.journal}; run the same command with --resume to finish",
                  file=sys.stderr)
        raise
    wall = time.perf_counter() - start
    frame = pd.DataFrame(rows) if runs_file is None else runs_file.finish()
    if len(frame):
        summary = summarize(frame, list(grid), kpis)
        if args.json:
            records = [{k: _jsonable(v) for k, v in row.items()}
                       for row in summary.to_dict(orient="records")]
            print(json.dumps(records, indent=2))
        else:
            print(f"mean ± 95 % confidence interval (Student t) over {args.replications} "
                  f"replication{'s' * (args.replications != 1)} per point, seeds "
                  f"{args.seed}..{args.seed + args.replications - 1} shared by every point")
            print(sweep_table(summary, list(grid), kpis).to_string(index=False))
    if out is not None:
        print(f"wrote {len(frame)} runs to {out}", file=sys.stderr)
    print(f"{len(rows)} runs in {wall:.1f} s on {where}", file=sys.stderr)
    if failures:
        for failure in failures:
            print(f"simlib: run failed: {failure}", file=sys.stderr)
        retry = "; --resume runs them again" if out is not None else ""
        print(f"simlib: {len(failures)} of {len(todo)} runs failed, their rows are left "
              f"out{retry}", file=sys.stderr)
        return EXIT_FINDINGS
    return EXIT_OK


# -- the parser ----------------------------------------------------------------------------


def cmd_check(args) -> int:
    """Pre-flight for a workshop: exit 0 when this machine can run the lessons."""
    from simlib.lessons.preflight import checks, report

    return EXIT_OK if report(checks(args.lessons)) else EXIT_FINDINGS


def cmd_lab(args) -> int:
    """What ``make lab`` does, for machines without make: JupyterLab on the lessons."""
    import subprocess

    from simlib.lessons.preflight import lab_command, notebooks_folder

    folder = notebooks_folder(args.lessons)
    if folder is None:
        where = args.lessons if args.lessons is not None else "beside simlib/, ./notebooks or ."
        raise UsageError(f"--lessons: no lessons (NN-name.ipynb) in {where}: run from a "
                         "clone of the repository or the folder your host gave you, or pass "
                         "--lessons DIR")
    command = lab_command(folder, root=hasattr(os, "getuid") and os.getuid() == 0)
    if args.dry_run:
        print(" ".join(command))
        return EXIT_OK
    # JupyterLab 4 asks about news whatever news_url is; the venv's default setting (below
    # the learner's own) answers it, as make lab's overrides.d file does
    overrides = Path(sys.prefix, "share", "jupyter", "lab", "settings", "overrides.d")
    overrides.mkdir(parents=True, exist_ok=True)
    (overrides / "serverless-lab.json").write_text(
        '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}\n')
    return subprocess.call(command)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: an integer >= 1")
    return value


EPILOG = """exit codes: 0 success; 1 lint found errors (also warnings with --strict), or
some sweep runs failed (a worker died twice on each; the other rows are kept); 2 bad
input (file, path, value, --set syntax, missing optional package); 130 interrupted; 141
output closed early. Progress bars go to stderr when it is a terminal and the work
takes over a second."""


def _add_parameter(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parameter", action="append", metavar="NAME=VALUE",
                        help="set a template parameter, as sam deploy --parameter-overrides "
                        "does (repeatable; default: the parameter's Default); a condition "
                        "it decides is read on one branch")


def build_parser() -> argparse.ArgumentParser:
    from simlib import __version__

    parser = argparse.ArgumentParser(
        prog="simlib", description="Simulate SQS -> Lambda pipelines: run a scenario or a "
        "SAM/CloudFormation template, lint a template, sweep a parameter.",
        epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"simlib {__version__}")
    commands = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND")

    source = argparse.ArgumentParser(add_help=False)
    source.add_argument("file", metavar="FILE",
                        help="a scenario YAML file or a SAM/CloudFormation template")

    # Only run and sweep take an overlay: it brings traffic and handler behaviour, which
    # the linter's rules (timeouts, redrive, batching configuration) do not look at.
    running = argparse.ArgumentParser(add_help=False)
    running.add_argument("--overlay", metavar="F",
                         help="YAML with the traffic and handler behaviour a template lacks")
    running.add_argument("--pipeline", metavar="NAME",
                         help="only this pipeline of a template (run: default all; sweep: "
                         "needed when the template has several)")
    running.add_argument("--application", action="store_true",
                         help="read a template as one application (topics, rules, "
                         "destinations, every pipeline together) instead of one scenario "
                         "per pipeline; what it assumes or leaves out is printed as notes")
    _add_parameter(running)
    running.add_argument("--seed", type=int, default=0, metavar="N",
                         help="random seed; a sweep's replication r uses N + r (default 0)")
    running.add_argument("--kpis", metavar="A,B,C",
                         help="summary KPIs to show, comma-separated, or 'all' (default: a "
                         "short list; with --json, all)")
    running.add_argument("--json", action="store_true", help="print JSON instead of a table")
    running.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                         help="force the progress bar on or off (default: on a terminal)")

    run = commands.add_parser(
        "run", parents=[source, running], help="simulate once and print the KPI summary",
        description="Simulate a scenario file or each pipeline of a template once and print "
        "the KPI table (one column per pipeline).", epilog=EPILOG)
    run.add_argument("--set", action="append", metavar="PATH=VALUE",
                     help="change one field, e.g. --set function.memory_mb=1024 (repeatable; "
                     "values are YAML scalars: 10, 0.5, true, null, text)")
    run.add_argument("--out", metavar="DIR",
                     help="write messages, invocations, timeseries, cost and summary to "
                     "DIR/<pipeline>/")
    run.add_argument("--format", choices=("csv", "parquet"), default="csv",
                     help="file format for --out (parquet needs pyarrow; default csv)")
    run.set_defaults(command=cmd_run)

    # lint has its own FILE... (not the shared `source`): a pre-commit hook passes many
    lint = commands.add_parser(
        "lint",
        help="report known production traps in templates or scenario files",
        description="Report known traps (visibility timeout vs function timeout, missing "
        "DLQ, ...) with why they matter and how to fix them. Exit 1 when there is an error "
        "(with --strict, also a warning), else 0; with several files, the worst of theirs "
        "(2 when one cannot be read).", epilog=EPILOG)
    lint.add_argument("files", nargs="+", metavar="FILE",
                      help="SAM/CloudFormation templates or scenario YAML files")
    shown = lint.add_mutually_exclusive_group()
    shown.add_argument("--format", choices=("text", "json", "sarif"),
                       help="text (default); json: one record per finding (with several "
                       "files, each also has 'file'); sarif: a SARIF 2.1.0 log for code "
                       "scanning (lines point at the template keys)")
    shown.add_argument("--json", action="store_const", dest="format", const="json",
                       help="the same as --format json")
    lint.add_argument("--output", metavar="OUT",
                      help="write the report to OUT instead of stdout (the one-line summary "
                      "per file still goes to stderr)")
    lint.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    _add_parameter(lint)
    lint.add_argument("--overlay", metavar="F",
                      help="YAML declaring what a template cannot (an idempotency store, a "
                      "database), for the rules about them")
    lint.add_argument("--quiet", action="store_true",
                      help="do not print the notes on what the reading assumed")
    lint.set_defaults(command=cmd_lint, format="text")

    check = commands.add_parser(
        "check", help="before a workshop: can this machine run the lessons?",
        description="Check Python, the packages the lessons import, a small simulation, a "
        "figure and the lessons folder; print what to fix. Exit 0 when ready, 1 when not.")
    check.add_argument("--lessons", type=Path, metavar="DIR",
                       help="the folder of lessons (default: the clone's notebooks/, else "
                       "./notebooks, else the current folder)")
    check.set_defaults(command=cmd_check)
    lab = commands.add_parser(
        "lab", help="open JupyterLab on the lessons (what make lab does, without make)",
        description="Start JupyterLab on 127.0.0.1 with its own token on the notebooks/ "
        "folder, as make lab does; for machines without make (Windows).")
    lab.add_argument("--dry-run", action="store_true", help="print the command only")
    lab.add_argument("--lessons", type=Path, metavar="DIR",
                     help="the folder of lessons (default as for check)")
    lab.set_defaults(command=cmd_lab)

    sweep = commands.add_parser(
        "sweep", parents=[source, running],
        help="run a grid of values x replications; mean and 95%% CI per point",
        description="Run the scenario at every point of a grid of field values, with the "
        "same seeds at every point (paired comparisons), and print the mean and 95% "
        "confidence interval of each KPI per point.", epilog=EPILOG)
    sweep.add_argument("--set", action="append", metavar="PATH=V1,V2,...",
                       help="one axis of the grid, e.g. --set queue.visibility_timeout_s="
                       "10,30,60 (repeatable: the grid is every combination)")
    sweep.add_argument("--replications", type=_positive_int, default=None, metavar="N",
                       help="seeds per point (default 5)")
    sweep.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                       help="local worker processes (default: every CPU; 1 runs in this "
                       "process)")
    sweep.add_argument("--scheduler", metavar="ADDR",
                       help="run on a Dask cluster instead, e.g. tcp://scheduler:8786 "
                       "(needs serverless-lab[dask])")
    sweep.add_argument("--out", metavar="FILE",
                       help="write the tidy runs (one row per run) to FILE.csv or FILE.parquet, "
                       "each row as it finishes (Parquet: to FILE.parquet.partial.csv until "
                       "the end), so a stopped sweep keeps them")
    sweep.add_argument("--resume", action="store_true",
                       help="continue the --out FILE of a stopped sweep: run only the runs "
                       "(swept values and seed) it lacks; refused if its columns differ")
    sweep.set_defaults(command=cmd_sweep)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's exit flush does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return args.command(args)
    except (ScenarioError, UsageError) as exc:
        print(f"simlib: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `simlib lint x | head`: the reader left; say nothing more
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # unreadable input, unwritable output, unreachable scheduler
        print(f"simlib: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("simlib: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
