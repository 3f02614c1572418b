"""Tests for the measured INIT floor per runtime (simlib.runtimes, simlib/data/runtime_init.csv).

They pin what the model relies on: the CSV holds every runtime users may pick, the
fitted medians keep the order seen on AWS, sampling is reproducible, the memory-size
rule is the documented one, bad input fails with a message naming the field, and the
committed CSV is exactly what the generator script produces.
"""

import csv
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from simlib import runtimes
from simlib.runtimes import DATA_PATH, InitProfile, init_profile

REQUIRED = {
    "python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14",
    "nodejs20.x", "nodejs22.x", "nodejs24.x",
    "java11", "java17", "java21", "java25",
    "dotnet8", "dotnet10", "ruby3.2", "ruby3.3", "ruby3.4", "go", "rust",
}
COLUMNS = ["runtime", "snapstart", "architecture", "memory_mb", "init_ms",
           "snapshot_date", "source"]
ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "data" / "make_runtime_init.py"
# The team's shared folder beside the checkout (CI lays it there) also holds the snapshots.
SHARED_SNAPSHOTS = ROOT.parent / "shared" / "data" / "lambda-perf"


def _csv_rows():
    with DATA_PATH.open(newline="") as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def _load_script():
    spec = importlib.util.spec_from_file_location("make_runtime_init", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_csv_columns_values_and_required_runtimes():
    header, rows = _csv_rows()
    assert header == COLUMNS
    assert REQUIRED <= {r["runtime"] for r in rows}
    assert {r["runtime"] for r in rows if r["snapstart"] == "True"} == {"java11", "java17",
                                                                        "java21"}
    assert {r["snapstart"] for r in rows} == {"True", "False"}
    assert {r["architecture"] for r in rows} == {"x86_64", "arm64"}
    assert {int(r["memory_mb"]) for r in rows} == {128, 256, 512, 1024}
    assert {r["snapshot_date"] for r in rows} == {"2025-10-18", "2026-08-22"}
    assert {r["source"] for r in rows} == {"maxday/lambda-perf daily snapshot (Apache-2.0)"}
    assert all(0 < float(r["init_ms"]) < 10_000 for r in rows)


def test_known_runtimes_match_csv():
    _, rows = _csv_rows()
    assert runtimes.known_runtimes() == tuple(sorted({r["runtime"] for r in rows}))
    assert runtimes.snapstart_runtimes() == ("java11", "java17", "java21")
    assert runtimes.INIT_TIMEOUT_S == 10.0


def test_fit_is_lognormal_of_the_measurements():
    _, rows = _csv_rows()
    ms = np.array([float(r["init_ms"]) for r in rows
                   if (r["runtime"], r["snapstart"], r["architecture"], r["memory_mb"])
                   == ("python3.13", "False", "x86_64", "512")])
    p = init_profile("python3.13")
    assert p == InitProfile("python3.13", "x86_64", 512, False, p.median_s, p.sigma, 20)
    assert p.median_s == pytest.approx(math.exp(np.log(ms / 1000).mean()))
    assert p.sigma == pytest.approx(np.log(ms).std(ddof=1))
    assert init_profile("python3.14").n == 10  # only in the later snapshot


def test_medians_keep_the_measured_order():
    med = {rt: init_profile(rt).median_s for rt in runtimes.known_runtimes()}
    assert med["java21"] > med["python3.13"]
    assert med["dotnet8"] > med["python3.13"]
    assert med["go"] < med["python3.13"]
    assert med["rust"] < med["python3.13"]
    assert all(0.005 < m < 2.0 for m in med.values())


def test_snapstart_restore_is_its_own_distribution():
    plain = init_profile("java21")
    restore = init_profile("java21", snapstart=True)
    assert restore.snapstart and not plain.snapstart
    # A hello-world restores slower than it inits; the ~95% ranges do not even overlap.
    assert restore.median_s * math.exp(-2 * restore.sigma) > plain.median_s * math.exp(
        2 * plain.sigma)


def test_sample_is_reproducible_and_centred():
    p = init_profile("nodejs22.x", "arm64", 1024)
    a = p.sample(np.random.default_rng(7), 20_000)
    b = p.sample(np.random.default_rng(7), 20_000)
    c = p.sample(np.random.default_rng(8), 20_000)
    assert a.shape == (20_000,)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert (a > 0).all()
    assert abs(np.median(a) / p.median_s - 1) < 0.10


@pytest.mark.parametrize("asked, used", [
    (128, 128), (512, 512), (1024, 1024),
    (100, 128),  # below Lambda's minimum, still the nearest measured size
    (2048, 1024), (3008, 1024), (10_240, 1024),
    (192, 256), (384, 512), (768, 1024),  # exact ties go to the larger size
    (383, 256), (700, 512),
])
def test_nearest_measured_memory(asked, used):
    assert init_profile("python3.12", memory_mb=asked).memory_mb == used


def test_architecture_is_kept_and_falls_back_only_without_data():
    assert init_profile("go", "arm64").architecture == "arm64"
    assert init_profile("go", "arm64").median_s != init_profile("go", "x86_64").median_s
    # SnapStart was only measured on x86_64, so arm64 borrows those figures.
    assert init_profile("java17", "arm64", snapstart=True) == init_profile(
        "java17", "x86_64", snapstart=True)


def test_unknown_runtime_is_rejected_with_field_and_allowed_values():
    with pytest.raises(ValueError, match=r"function\.runtime = 'python2\.7'.*python3\.13"):
        init_profile("python2.7")


def test_snapstart_on_a_runtime_aws_does_not_offer_it_for_is_rejected():
    # SnapStart: Java 11+, Python 3.12+, .NET 8+ only; "Other managed runtimes (such as
    # nodejs24.x and ruby3.4) ... are not supported"
    # (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html).
    with pytest.raises(ValueError,
                       match=r"function\.snapstart.*'nodejs22\.x' does not support SnapStart"
                             r".*dotnet10, dotnet8, java11, java17, java21, java25, python3\.12"):
        init_profile("nodejs22.x", snapstart=True)


def test_unknown_architecture_is_rejected():
    with pytest.raises(ValueError, match=r"function\.architecture = 'x86'.*arm64"):
        init_profile("python3.13", "x86")


def test_script_reproduces_committed_csv():
    script = _load_script()
    found = [d for d in (script.DEFAULT_INPUT, SHARED_SNAPSHOTS)
             if all((d / name).is_file() for name in script.SNAPSHOTS)]
    if not found:
        pytest.skip(
            f"lambda-perf snapshots {', '.join(script.SNAPSHOTS)} are not in data/lambda-perf/:"
            " put them there (see data/README.md) to check the CSV against its source"
        )
    assert script.render_csv(script.build_rows(found[0])) == DATA_PATH.read_text()


def test_snapstart_supported_runtimes_and_their_restore_source():
    """SnapStart is offered for Java 11+, Python 3.12+ and .NET 8+
    (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html); lambda-perf measures
    restores for Java 11/17/21 only, so the others borrow java21's (data/README.md)."""
    assert runtimes.snapstart_supported_runtimes() == (
        "dotnet10", "dotnet8", "java11", "java17", "java21", "java25",
        "python3.12", "python3.13", "python3.14")
    assert runtimes.snapstart_restore_source("java17") == "measured"
    assert runtimes.snapstart_restore_source("python3.13").startswith("stand-in: java21")
    py = init_profile("python3.13", snapstart=True)
    java = init_profile("java21", snapstart=True)
    assert py.runtime == "python3.13" and py.snapstart
    assert (py.median_s, py.sigma, py.n) == (java.median_s, java.sigma, java.n)


# -- deprecation dates ---------------------------------------------------------------------

def test_every_modelled_runtime_has_deprecation_dates_with_a_source():
    """simlib/data/runtime_deprecation.csv, from AWS "Lambda runtimes":
    https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"""
    from datetime import date

    table = runtimes.deprecation_table()
    for runtime in runtimes.known_runtimes():
        assert runtimes.deprecation(runtime) is not None, runtime
    for row in table.values():
        assert row.source_url == "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"
        assert row.checked == date(2026, 11, 29)
        dates = [d for d in (row.deprecation_date, row.block_create_date,
                             row.block_update_date) if d is not None]
        assert dates == sorted(dates), row  # deprecation <= block create <= block update
    assert table["python3.9"].deprecation_date == date(2025, 12, 15)
    assert table["nodejs20.x"].block_update_date == date(2027, 3, 3)


def test_deprecation_notice_says_deprecated_or_scheduled_relative_to_today():
    from datetime import date

    notice = runtimes.deprecation_notice
    assert notice("python3.13", today=date(2026, 11, 29)) is None  # 2029: far off
    assert notice("python3.9", today=date(2025, 1, 1)) is None  # beyond the notice window
    soon = notice("python3.9", today=date(2025, 11, 1))
    assert soon.startswith("runtime python3.9 is scheduled for deprecation on 2025-12-15")
    past = notice("python3.9", today=date(2026, 11, 29))
    assert past.startswith("runtime python3.9 is deprecated since 2025-12-15")
    assert "creating functions with it is scheduled to be blocked from 2027-02-01" in past
    late = notice("python3.9", today=date(2027, 3, 3))
    assert "blocked since 2027-02-01" in late and "updating functions with it is blocked " \
        "since 2027-03-03" in late
    assert notice("rust", today=date(2029, 6, 30)).startswith(
        "runtime rust (provided.al2023) is deprecated since 2029-06-30")
    assert notice("no-such-runtime", today=date(2026, 11, 29)) is None
    assert notice(None) is None


# -- retired runtimes ----------------------------------------------------------------------

RETIRED = {
    "nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10", "nodejs10.x",
    "nodejs12.x", "nodejs14.x", "nodejs16.x", "nodejs18.x",
    "python2.7", "python3.6", "python3.7", "python3.8",
    "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1",
    "dotnet5.0", "dotnet6", "dotnet7", "dotnet9",
    "ruby2.5", "ruby2.7", "java8", "go1.x", "provided",
}


def test_every_row_has_ordered_dates_and_says_where_they_came_from():
    """AWS "Lambda runtimes", https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html:
    a runtime is deprecated, then blocked for new functions, then for updates. Where a
    transcription gave a block date out of that order the row leaves it empty
    (data/README.md), so every recorded date is in order."""
    from simlib.runtimes import DEPRECATION_PATH

    with DEPRECATION_PATH.open(newline="") as fh:
        evidence = {row["runtime"]: row["evidence"] for row in csv.DictReader(fh)}
    table = runtimes.deprecation_table()
    assert set(evidence) == set(table)  # one row per runtime, none lost to a duplicate
    assert RETIRED <= set(table)
    for row in table.values():
        assert evidence[row.runtime].strip(), row.runtime
        if row.block_create_date is not None:
            assert row.deprecation_date <= row.block_create_date, row
        if row.block_update_date is not None:
            assert row.deprecation_date <= row.block_update_date, row
            if row.block_create_date is not None:
                assert row.block_create_date <= row.block_update_date, row


LATER = "scheduled to be blocked from"


@pytest.mark.parametrize(("runtime", "deprecated", "create", "update"), [
    ("nodejs14.x", "2023-12-04", "blocked since 2024-01-09", f"{LATER} 2027-03-03"),
    ("python3.7", "2023-12-04", "blocked since 2024-01-09", f"{LATER} 2027-03-03"),
    ("dotnetcore3.1", "2023-04-03", "blocked since 2023-04-03", "blocked since 2023-05-03"),
    ("go1.x", "2024-01-08", "blocked since 2024-02-08", f"{LATER} 2027-03-03"),
])
def test_retired_runtimes_give_a_deprecated_since_notice(runtime, deprecated, create, update):
    """Dates from AWS "Lambda runtimes",
    https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html ("Deprecated
    runtimes": deprecation date, block function create, block function update), as
    transcribed by cfn-lint 1.58.0 (LmbdRuntimeLifecycle.json); the deprecation dates
    agree with tflint-ruleset-aws, dotnetcore3.1's block dates with endoflife.date."""
    from datetime import date

    notice = runtimes.deprecation_notice(runtime, today=date(2026, 11, 29))
    assert notice.startswith(f"runtime {runtime} is deprecated since {deprecated}")
    assert f"creating functions with it is {create}" in notice
    assert f"updating functions with it is {update}" in notice


def test_retired_identifiers_are_matched_exactly():
    """java8 (Amazon Linux 1, retired 2024-01-08) and java8.al2 (supported until
    2027-06-30) are different AWS identifiers; so are provided and provided.al2."""
    from datetime import date

    today = date(2026, 11, 29)
    assert runtimes.deprecation("java8").deprecation_date == date(2024, 1, 8)
    assert runtimes.deprecation("java8.al2").deprecation_date == date(2027, 6, 30)
    assert runtimes.deprecation_notice("java8.al2", today=today) is None
    assert runtimes.deprecation("provided").deprecation_date == date(2024, 1, 8)
    assert runtimes.deprecation("provided.al2").deprecation_date == date(2026, 6, 30)
    # no block dates recorded (container-only runtime): the notice stops at the deprecation
    notice = runtimes.deprecation_notice("dotnet7", today=today)
    assert notice.startswith("runtime dotnet7 is deprecated since 2024-05-14")
    assert "blocked" not in notice


def test_lint_warns_about_a_template_on_a_retired_runtime(tmp_path):
    """The deprecated-runtime rule reads the identifier as the template writes it."""
    from datetime import date

    from simlib.lint import lint_pipeline
    from simlib.template import read_template

    plain = (ROOT / "tests" / "data" / "cfn-plain.yaml").read_text()
    assert "Runtime: python3.13" in plain
    path = tmp_path / "old.yaml"
    path.write_text(plain.replace("Runtime: python3.13", "Runtime: nodejs8.10"))
    found = [f for p in read_template(path) for f in lint_pipeline(p, today=date(2026, 11, 29))
             if f.rule == "deprecated-runtime"]
    assert found and all("nodejs8.10 is deprecated since 2020-03-06" in f.message
                         and "updating functions with it is blocked since 2020-03-06" in f.message
                         for f in found)
