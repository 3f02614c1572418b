"""simlib.lessons.batches: lesson 03's closed forms, sweep columns and figures.

The closed forms are checked three ways: against direct sums and known values, against a
plain Monte Carlo of the handler's rule (stop at the first failing record, return the
whole batch; or return only the failed records), and against the SimPy model over seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import simlib
from simlib.lessons import batches
from simlib.whatif.sweep import summarize, sweep

WHOLE, PARTIAL = batches.FAILURE_HANDLING[False], batches.FAILURE_HANDLING[True]


# -- closed forms ---------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.01, 0.1, 0.3])
@pytest.mark.parametrize("n", [1, 2, 10, 50])
def test_whole_batch_closed_form_is_the_direct_sum(p, n):
    q = (1 - p) ** n
    records_per_attempt = sum((1 - p) ** k for k in range(n))  # up to the first failure
    assert batches.executions_per_processed(p, n, False) == pytest.approx(
        records_per_attempt / (n * q))


def test_a_batch_of_one_fails_the_same_way_either_way():
    for p in (0.0, 0.05, 0.5):
        assert batches.executions_per_processed(p, 1, False) == pytest.approx(
            batches.executions_per_processed(p, 1, True))
        assert batches.dlq_share(p, 1, 3, False) == pytest.approx(batches.dlq_share(p, 1, 3, True))


def test_no_failures_means_one_execution_and_no_dlq():
    for partial in (False, True):
        assert batches.executions_per_processed(0.0, 10, partial) == pytest.approx(1.0)
        assert batches.dlq_share(0.0, 10, 5, partial) == 0.0


def test_whole_batch_grows_with_n_and_p_partial_does_not_grow_with_n():
    ps = np.linspace(0.01, 0.3, 30)
    e10 = batches.executions_per_processed(ps, 10, False)
    e20 = batches.executions_per_processed(ps, 20, False)
    assert np.all(np.diff(e10) > 0) and np.all(e20 > e10)
    assert np.allclose(batches.executions_per_processed(ps, 10, True),
                       batches.executions_per_processed(ps, 50, True))
    assert np.all(e10 > batches.executions_per_processed(ps, 10, True))
    # the handler that runs every record before failing the batch is an upper bound
    assert np.all(batches.handler_runs_every_record(ps, 10) >= e10)


def test_executions_per_processed_is_vectorised_and_scalar_for_a_scalar():
    out = batches.executions_per_processed(np.array([0.0, 0.1]), 10, False)
    assert out.shape == (2,) and out[0] == pytest.approx(1.0)
    assert isinstance(batches.executions_per_processed(0.1, 10, False), float)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, math.nan])
def test_a_failure_rate_outside_0_1_is_refused(bad):
    with pytest.raises(ValueError, match="failure rate"):
        batches.executions_per_processed(bad, 10, False)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_a_batch_size_that_is_not_a_positive_integer_is_refused(bad):
    with pytest.raises(ValueError, match="batch size"):
        batches.batch_succeeds(0.1, bad)


def test_max_receive_count_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="max_receive_count"):
        batches.dlq_share(0.1, 10, 0, False)


def test_monte_carlo_of_the_handler_rule_matches_the_closed_forms():
    """Batch attempts drawn independently, M receives at most per message: the ratio of
    executions to deletions matches the closed form whatever M is, and the DLQ share
    matches (1 - q)^M or p^M."""
    rng = np.random.default_rng(7)
    n, p, attempts = 10, 0.1, 40_000
    fails = rng.random((attempts, n)) < p
    # whole batch: records run up to and including the first failure
    first = np.where(fails.any(axis=1), fails.argmax(axis=1) + 1, n)
    ok = ~fails.any(axis=1)
    assert first.sum() / (n * ok.sum()) == pytest.approx(
        batches.executions_per_processed(p, n, False), rel=0.03)
    assert fails.size / (~fails).sum() == pytest.approx(
        batches.executions_per_processed(p, n, True), rel=0.01)
    # per message with M receives: each receive fails with the batch's probability
    q = batches.batch_succeeds(p, n)
    for m in (1, 3, 5):
        receives_failed = rng.random((attempts, m)) >= q  # True: that receive's batch failed
        to_dlq = receives_failed.all(axis=1).mean()
        assert to_dlq == pytest.approx(batches.dlq_share(p, n, m, False), abs=0.01)


def test_t99_quantiles():
    assert batches.t99(1) == pytest.approx(63.657)
    assert batches.t99(9) == pytest.approx(3.250)
    assert batches.t99(1000) == pytest.approx(2.576)
    with pytest.raises(ValueError):
        batches.t99(0)


# -- against the model ----------------------------------------------------------------------

PIPELINE = simlib.Scenario.from_dict({
    "workload": {"rate_per_s": 20, "duration_s": 60},
    "queue": {"max_receive_count": 5},
    "mapping": {"batch_size": 10, "batching_window_s": 5.0},
})
HANDLING = {"mapping.report_batch_item_failures": [False, True]}


@pytest.fixture(scope="module")
def storm_runs():
    return batches.add_sweep_columns(sweep(
        PIPELINE, {"handler.failure_rate": [0.0, 0.05, 0.15], **HANDLING},
        replications=6, seed=11, workers=1))


def test_add_sweep_columns(storm_runs):
    row = storm_runs.iloc[0]
    deleted, sent = row["messages_deleted"], row["messages_sent"]
    assert row["executions_per_processed"] == pytest.approx(row["executions"] / deleted)
    assert row["dlq_per_thousand"] == pytest.approx(1000 * row["messages_dlq"] / sent)
    assert set(storm_runs["failure_handling"]) == {WHOLE, PARTIAL}
    with pytest.raises(KeyError, match="report_batch_item_failures"):
        batches.add_sweep_columns(storm_runs.drop(columns="mapping.report_batch_item_failures"))


def test_the_model_agrees_with_the_closed_forms(storm_runs):
    check = batches.closed_form_check(storm_runs, batch_size=10, max_receive_count=5)
    assert len(check) == 3 * 2 * 2
    assert check["agrees"].all(), check[~check["agrees"]]
    # and the check is not vacuous: the wrong closed form (a batch size of 20) is refused
    wrong = batches.closed_form_check(storm_runs, batch_size=20, max_receive_count=5)
    assert not wrong["agrees"].all()


def test_closed_form_check_needs_two_seeds(storm_runs):
    with pytest.raises(ValueError, match="needs >= 2"):
        batches.closed_form_check(storm_runs[storm_runs["seed"] == 11], batch_size=10,
                                  max_receive_count=5)


def test_curve_and_figures(storm_runs):
    stats = summarize(storm_runs, ["handler.failure_rate", "failure_handling"], batches.SWEEP_KPIS)
    c = batches.curve(stats, "handler.failure_rate", "executions_per_processed", WHOLE)
    assert list(c.index) == [0.0, 0.05, 0.15] and c.is_monotonic_increasing
    with pytest.raises(KeyError, match="no failure handling"):
        batches.curve(stats, "handler.failure_rate", "executions_per_processed", "nope")
    fig = batches.plot_retry_storm(stats, batch_size=10, max_receive_count=5)
    assert len(fig.axes) == 3
    assert all(ax.get_ylim()[0] == 0 for ax in fig.axes)
    run = simlib.simulate(PIPELINE.with_changes({"handler.failure_rate": 0.05}), seed=11)
    panel = batches.plot_panel(run, stats, batch_size=10, failure_rate=0.05, partial=False,
                               max_receive_count=5, sweep_batch_size=10)
    assert len(panel.axes) == 3
    table = batches.panel_table(run)
    assert isinstance(table, pd.DataFrame) and len(table) == len(batches.PANEL_KPIS)
    with pytest.raises(ValueError, match="failure rate 0"):
        batches.plot_retry_storm(stats[stats["handler.failure_rate"] > 0], batch_size=10,
                                 max_receive_count=5)


def test_panel_figure_when_nothing_is_processed(storm_runs):
    stats = summarize(storm_runs, ["handler.failure_rate", "failure_handling"], batches.SWEEP_KPIS)
    lost = simlib.simulate(PIPELINE.with_changes({"workload.poison_fraction": 1.0}), seed=11)
    assert lost.summary["messages_deleted"] == 0
    fig = batches.plot_panel(lost, stats, batch_size=10, failure_rate=0.0, partial=False,
                             max_receive_count=5, sweep_batch_size=10)
    assert "nothing processed" in fig._suptitle.get_text()


def test_batch_size_sweep_shows_the_trade():
    runs = batches.add_sweep_columns(sweep(
        PIPELINE.with_changes({"handler.failure_rate": 0.02}),
        {"mapping.batch_size": [1, 10, 50], **HANDLING}, replications=3, seed=11, workers=1))
    stats = summarize(runs, ["mapping.batch_size", "failure_handling"], batches.SWEEP_KPIS)
    dup = batches.curve(stats, "mapping.batch_size", "duplicates_per_thousand", WHOLE)
    assert dup.is_monotonic_increasing and dup[50] > dup[1]
    partial_dup = batches.curve(stats, "mapping.batch_size", "duplicates_per_thousand", PARTIAL)
    assert (partial_dup == 0).all()
    inv = batches.curve(stats, "mapping.batch_size", "invocations_per_processed", PARTIAL)
    assert inv.is_monotonic_decreasing
    fig = batches.plot_batch_size_sweep(stats)
    assert len(fig.axes) == 4
