"""Checks on the price table and the bill arithmetic.

Why: a wrong price or an off-by-one in the rounding changes every cost figure the
notebooks show, silently. These tests pin the hand-computed bills and AWS's billing
rules (1 ms rounding, 64 KB SQS chunks) so such a change fails here first.
"""

import numpy as np
import pandas as pd
import pytest

from simlib import pricing
from simlib.errors import ScenarioError
from simlib.pricing import Usage, billed_ms, cost_table, load_prices, price, sqs_request_units


def usage(**changes):
    """A Usage of nothing at 1024 MB on x86_64 over an hour, with ``changes`` applied."""
    base = {
        "architecture": "x86_64", "memory_mb": 1024, "requests": 0,
        "on_demand_billed_ms": 0.0, "provisioned_billed_ms": 0.0,
        "provisioned_concurrency": 0, "horizon_s": 3600.0, "sqs_requests": 0,
    }
    return Usage(**{**base, **changes})


def line(table, service, item):
    rows = table[(table["service"] == service) & (table["item"] == item)]
    assert len(rows) == 1, f"{service}/{item} appears {len(rows)} times"
    return rows.iloc[0]


# -- the price table ---------------------------------------------------------------


def test_every_price_row_has_a_https_source_a_date_and_a_note():
    df = load_prices()
    assert list(df.columns) == [
        "service", "item", "architecture", "unit", "unit_price_usd",
        "effective_date", "source_url", "note",
    ]
    assert df["source_url"].str.startswith("https://").all()
    assert pd.to_datetime(df["effective_date"], format="%Y-%m-%d").notna().all()
    assert (df["note"].str.len() > 0).all()
    assert (df["unit_price_usd"] > 0).all()


def test_prices_as_published_for_us_east_1():
    assert price("lambda", "requests") == pytest.approx(0.20 / 1e6, rel=1e-12)
    assert price("lambda", "compute_gb_s", "x86_64") == 0.0000166667
    assert price("lambda", "compute_gb_s", "arm64") == 0.0000133334
    assert price("lambda", "provisioned_gb_s", "x86_64") == 0.0000041667
    assert price("lambda", "provisioned_gb_s", "arm64") == 0.0000033334
    assert price("lambda", "provisioned_compute_gb_s", "x86_64") == 0.0000097222
    assert price("lambda", "provisioned_compute_gb_s", "arm64") == 0.0000077778
    assert price("sqs", "requests") == pytest.approx(0.40 / 1e6, rel=1e-12)
    assert price("sqs", "requests_fifo") == pytest.approx(0.50 / 1e6, rel=1e-12)
    assert price("logs", "ingestion_gb") == 0.50
    assert price("nat", "processed_gb") == 0.045
    assert price("nat", "hours") == 0.045


def test_price_falls_back_to_any_for_architecture_independent_items():
    assert price("lambda", "requests", "arm64") == price("lambda", "requests", "x86_64")
    assert price("sqs", "requests", "arm64") == price("sqs", "requests")


def test_missing_price_is_a_key_error_naming_what_was_asked():
    with pytest.raises(KeyError, match=r"service='lambda' item='compute_gb_s' architecture='any'"):
        price("lambda", "compute_gb_s")
    with pytest.raises(KeyError, match=r"service='dynamodb' item='reads' architecture='arm64'"):
        price("dynamodb", "reads", "arm64")


def test_load_prices_is_cached_by_path():
    assert load_prices() is load_prices()


def test_a_duplicated_price_row_is_rejected(tmp_path):
    text = pricing.PRICES_PATH.read_text()
    first_row = text.splitlines()[1]
    bad = tmp_path / "prices.csv"
    bad.write_text(text + first_row + "\n")
    with pytest.raises(ValueError, match="more than one price"):
        load_prices(bad)


# -- billing rules -----------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds, ms",
    [(0.0001, 1), (0.0, 1), (0.001, 1), (0.1, 100), (0.1004, 101), (0.3, 300),
     (1.0, 1000), (1.0001, 1001), (900.0, 900_000)],
)
def test_billed_ms_rounds_up_to_the_next_millisecond(seconds, ms):
    assert billed_ms(seconds) == ms
    assert isinstance(billed_ms(seconds), float)


def test_billed_ms_is_vectorised():
    out = billed_ms(np.array([0.0001, 0.1, 0.1004, 0.7]))
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [1, 100, 101, 700])
    # Exact millisecond values from arithmetic, not literals, are not bumped either:
    # an INIT of 0.1 s plus a handler of 0.2 s is 0.30000000000000004 s in binary.
    np.testing.assert_array_equal(billed_ms(np.arange(1, 2001) / 1000), np.arange(1, 2001))
    assert billed_ms(0.1 + 0.2) == 300
    np.testing.assert_array_equal(billed_ms(np.array([0.1, 0.7]) + 0.2), [300, 900])


def test_billed_ms_rejects_negative_durations():
    with pytest.raises(ValueError, match=r"duration_s = -0\.5 is not allowed"):
        billed_ms(-0.5)


@pytest.mark.parametrize(
    "kb, units", [(0, 1), (1, 1), (64, 1), (65, 2), (128, 2), (256, 4), (1024, 16)]
)
def test_sqs_bills_each_64_kb_chunk_as_one_request(kb, units):
    assert sqs_request_units(kb) == units
    assert isinstance(sqs_request_units(kb), int)


def test_sqs_request_units_is_vectorised():
    np.testing.assert_array_equal(sqs_request_units(np.array([1, 64, 65, 256])), [1, 1, 2, 4])


def test_sqs_request_units_rejects_negative_payloads():
    with pytest.raises(ValueError, match=r"payload_kb = -1 is not allowed"):
        sqs_request_units(-1)


# -- the bill ----------------------------------------------------------------------


def test_hand_computed_on_demand_bill():
    # 1M invocations of 100 ms at 1024 MB on x86_64:
    # 1M x 0.1 s x 1 GB = 100,000 GB-s at $0.0000166667, plus 1M requests at $0.20/M.
    u = usage(requests=1_000_000, on_demand_billed_ms=1_000_000 * billed_ms(0.1))
    table = cost_table(u)
    compute = line(table, "lambda", "compute_gb_s")
    assert compute["quantity"] == pytest.approx(100_000)
    assert compute["cost_usd"] == pytest.approx(100_000 * 0.0000166667)
    assert line(table, "lambda", "requests")["cost_usd"] == pytest.approx(0.20)
    assert table["cost_usd"].sum() == pytest.approx(1.66667 + 0.20)


def test_table_has_a_stable_shape():
    table = cost_table(usage())
    assert list(table.columns) == ["service", "item", "quantity", "unit", "unit_price_usd",
                                   "cost_usd"]
    assert list(zip(table["service"], table["item"])) == [
        ("lambda", "requests"), ("lambda", "compute_gb_s"), ("lambda", "provisioned_gb_s"),
        ("lambda", "provisioned_compute_gb_s"), ("sqs", "requests"), ("logs", "ingestion_gb"),
        ("nat", "processed_gb"), ("nat", "hours"), ("database", "instance_hours"),
        ("lambda", "snapstart_cache_gb_s"), ("lambda", "snapstart_restore_gb"),
        ("database", "proxy_vcpu_hours"), ("lambda", "event_poller_unit_hours"),
        ("lambda", "provisioned_init_gb_s"),
    ]
    assert table["cost_usd"].sum() == 0.0
    np.testing.assert_allclose(table["cost_usd"], table["quantity"] * table["unit_price_usd"])


def test_arm64_is_cheaper_than_x86_for_the_same_gb_seconds():
    work = {"requests": 1_000_000, "on_demand_billed_ms": 1e8,
            "provisioned_concurrency": 10, "provisioned_billed_ms": 5e7}
    x86 = cost_table(usage(architecture="x86_64", **work)).set_index(["service", "item"])
    arm = cost_table(usage(architecture="arm64", **work)).set_index(["service", "item"])
    pd.testing.assert_series_equal(x86["quantity"], arm["quantity"])
    for item in ("compute_gb_s", "provisioned_gb_s", "provisioned_compute_gb_s"):
        assert arm.loc[("lambda", item), "cost_usd"] < x86.loc[("lambda", item), "cost_usd"]
    assert arm.loc[("lambda", "requests"), "cost_usd"] == x86.loc[("lambda", "requests"),
                                                                  "cost_usd"]
    assert arm["cost_usd"].sum() < x86["cost_usd"].sum()


def test_provisioned_line_is_concurrency_times_gb_times_seconds_times_price():
    # 5 environments of 2048 MB kept for 2 hours, used or not.
    table = cost_table(usage(architecture="arm64", memory_mb=2048, provisioned_concurrency=5,
                             horizon_s=7200.0))
    row = line(table, "lambda", "provisioned_gb_s")
    assert row["quantity"] == pytest.approx(5 * 2.0 * 7200)
    assert row["cost_usd"] == pytest.approx(5 * 2.0 * 7200 * 0.0000033334)
    # Time the provisioned environments spent working is billed at its own rate.
    table = cost_table(usage(provisioned_concurrency=5, provisioned_billed_ms=3_600_000))
    row = line(table, "lambda", "provisioned_compute_gb_s")
    assert row["cost_usd"] == pytest.approx(3600 * 1.0 * 0.0000097222)


def test_provisioned_init_line_is_init_gb_s_at_the_provisioned_duration_rate():
    """INIT of provisioned environments (at allocation and at each recycle) "is billed
    even if the instance never processes a request" and provisioned concurrency "is
    billed separately from initialization and invocation costs"
    (https://github.com/awsdocs/aws-lambda-developer-guide/blob/main/doc_source/configuration-concurrency.md).
    It was billed before 2025-08-01 too: that change concerned on-demand ZIP functions on
    managed runtimes only
    (https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/).
    AWS names no rate for it; the model takes the provisioned duration rate
    (https://aws.amazon.com/lambda/pricing/)."""
    table = cost_table(usage(architecture="arm64", memory_mb=2048, provisioned_concurrency=4,
                             provisioned_init_billed_ms=8_000.0))
    row = line(table, "lambda", "provisioned_init_gb_s")
    assert row["unit"] == "GB-second"
    assert row["quantity"] == pytest.approx(8.0 * 2.0)
    assert row["unit_price_usd"] == price("lambda", "provisioned_compute_gb_s", "arm64")
    assert row["cost_usd"] == pytest.approx(16.0 * 0.0000077778)
    # a line of its own: the other lines do not move
    without = cost_table(usage(architecture="arm64", memory_mb=2048, provisioned_concurrency=4))
    assert line(without, "lambda", "provisioned_init_gb_s")["cost_usd"] == 0.0
    assert table["cost_usd"].sum() - without["cost_usd"].sum() == pytest.approx(row["cost_usd"])
    with pytest.raises(ScenarioError):
        usage(provisioned_init_billed_ms=-1.0)


def test_sqs_logs_nat_and_database_lines():
    u = usage(sqs_requests=3_000_000, log_gb=2.0, nat_gb=10.0, nat_hours=24.0,
              database_hours=24.0, database_usd_per_hour=0.12)
    table = cost_table(u)
    assert line(table, "sqs", "requests")["cost_usd"] == pytest.approx(1.20)
    assert line(table, "logs", "ingestion_gb")["cost_usd"] == pytest.approx(1.00)
    assert line(table, "nat", "processed_gb")["cost_usd"] == pytest.approx(0.45)
    assert line(table, "nat", "hours")["cost_usd"] == pytest.approx(1.08)
    db = line(table, "database", "instance_hours")
    assert (db["unit"], db["unit_price_usd"], db["cost_usd"]) == ("hour", 0.12, pytest.approx(2.88))


def test_fifo_queue_requests_cost_more():
    std = line(cost_table(usage(sqs_requests=2_000_000)), "sqs", "requests")
    fifo = line(cost_table(usage(sqs_requests=2_000_000, fifo=True)), "sqs", "requests")
    assert std["cost_usd"] == pytest.approx(0.80)
    assert fifo["cost_usd"] == pytest.approx(1.00)


# -- input validation --------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, pattern",
    [
        ({"architecture": "arm"}, r"architecture = 'arm' is not allowed: one of 'x86_64', 'arm64'"),
        ({"memory_mb": 64}, r"memory_mb = 64 is not allowed: a number in 128\.\.10240"),
        ({"memory_mb": 20_000}, r"memory_mb = 20000 is not allowed"),
        ({"requests": -1}, r"requests = -1 is not allowed: a finite number >= 0"),
        ({"on_demand_billed_ms": float("nan")}, r"on_demand_billed_ms = nan is not allowed"),
        ({"horizon_s": -5.0}, r"horizon_s = -5\.0 is not allowed"),
        ({"nat_gb": float("inf")}, r"nat_gb = inf is not allowed"),
        ({"database_usd_per_hour": -0.1}, r"database_usd_per_hour = -0\.1 is not allowed"),
        ({"sqs_requests": True}, r"sqs_requests = True is not allowed"),
        ({"fifo": "yes"}, r"fifo = 'yes' is not allowed: True or False"),
    ],
)
def test_bad_usage_is_a_value_error_naming_field_value_and_range(changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        usage(**changes)


def test_cost_table_wants_a_usage():
    with pytest.raises(TypeError, match="expects a Usage, got dict"):
        cost_table({"requests": 1})


# -- SnapStart and RDS Proxy (issue 10) ---------------------------------------------


def test_snapstart_cache_and_restore_match_the_pricing_page_example():
    """The AWS Lambda pricing page's SnapStart example (US East, 1 GB, a month of 31 days,
    74,400 restores): cache 2,678,400 GB-s x $0.0000015046 = $4.03, restore 74,400 GB x
    $0.0001397998 = $10.4. https://aws.amazon.com/lambda/pricing/ (SnapStart Pricing)."""
    table = cost_table(usage(snapstart_cached_s=31 * 24 * 3600.0, snapstart_restores=74_400))
    cache = line(table, "lambda", "snapstart_cache_gb_s")
    restore = line(table, "lambda", "snapstart_restore_gb")
    assert cache["quantity"] == pytest.approx(2_678_400)
    assert cache["cost_usd"] == pytest.approx(4.03, abs=0.005)
    assert restore["quantity"] == pytest.approx(74_400)
    assert restore["cost_usd"] == pytest.approx(10.40, abs=0.005)


def test_snapstart_cache_is_billed_for_at_least_3_hours():
    """"You're charged for a minimum of 3 hours" for caching a SnapStart snapshot
    (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html, SnapStart pricing);
    a version without a charged cache (Java, or no SnapStart) has no cache line."""
    gb = 2048 / 1024
    short = line(cost_table(usage(memory_mb=2048, snapstart_cached_s=60.0)),
                 "lambda", "snapstart_cache_gb_s")
    assert short["quantity"] == pytest.approx(3 * 3600 * gb)
    long = line(cost_table(usage(memory_mb=2048, snapstart_cached_s=5 * 3600.0)),
                "lambda", "snapstart_cache_gb_s")
    assert long["quantity"] == pytest.approx(5 * 3600 * gb)
    none = line(cost_table(usage(memory_mb=2048)), "lambda", "snapstart_cache_gb_s")
    assert none["quantity"] == 0.0


def test_snapstart_bills_the_billed_restore_duration_not_the_restore():
    """Billed Restore Duration is the runtime load and afterRestore hooks; "You are not
    charged for the time it takes to restore a snapshot"
    (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html). lambda-perf's
    REPORT line (common_lib/src/report_log.rs): Duration 36.97 ms, Restore Duration
    511.56 ms, Billed Restore Duration 136 ms, Billed Duration 173 ms."""
    restore = 0.51156
    assert pricing.snapstart_billed_ms(0.03697 + restore, restore) == 173.0
    # warm invocations bill as usual
    assert pricing.snapstart_billed_ms(0.03697, 0.0) == billed_ms(0.03697) == 37.0
    both = pricing.snapstart_billed_ms(np.array([0.03697 + restore, 0.1]),
                                       np.array([restore, 0.0]))
    np.testing.assert_array_equal(both, [173.0, 100.0])
    with pytest.raises(ValueError, match=r"restore_s = .* 0\.\.duration_s"):
        pricing.snapstart_billed_ms(0.1, 0.2)


def test_rds_proxy_is_billed_per_vcpu_hour_with_a_2_vcpu_minimum():
    """RDS Proxy: $0.015 per vCPU-hour of the database instance, minimum 2 vCPUs; the
    page's example, a 1-vCPU instance for 30 days = 1,440 vCPU-hours = $21.60
    (https://aws.amazon.com/rds/proxy/pricing/)."""
    small = line(cost_table(usage(proxy_vcpus=1, proxy_hours=720.0)),
                 "database", "proxy_vcpu_hours")
    assert (small["unit"], small["quantity"]) == ("vCPU-hour", pytest.approx(1440))
    assert small["cost_usd"] == pytest.approx(21.60)
    big = line(cost_table(usage(proxy_vcpus=8, proxy_hours=10.0)), "database", "proxy_vcpu_hours")
    assert big["cost_usd"] == pytest.approx(8 * 10 * 0.015)
    off = line(cost_table(usage(proxy_vcpus=8)), "database", "proxy_vcpu_hours")
    assert off["cost_usd"] == 0.0


def test_event_poller_units_are_billed_per_epu_hour_at_the_sqs_rate():
    """Provisioned mode of an SQS mapping: "An EPU supports one event poller"; the SQS
    pricing example bills 8000 EPU-hours x $0.00925 = $74 (https://aws.amazon.com/lambda/pricing/,
    Provisioned Mode for Event Source Mapping, Pricing Example 2, US East)."""
    table = cost_table(usage(event_poller_hours=8000.0))
    epu = line(table, "lambda", "event_poller_unit_hours")
    assert epu["unit"] == "EPU-hour"
    assert epu["unit_price_usd"] == 0.00925
    assert epu["cost_usd"] == pytest.approx(74.0)
    assert table["cost_usd"].sum() == pytest.approx(74.0)
    arm = line(cost_table(usage(architecture="arm64", event_poller_hours=1.0)),
               "lambda", "event_poller_unit_hours")
    assert arm["unit_price_usd"] == 0.00925
