"""Cold starts and environment counts against AWS Lambda measurements (project issue 10).

Measurements: Mahmoudi & Khazaei, "Performance Modeling of Serverless Computing Platforms",
IEEE Transactions on Cloud Computing (2020); the per-experiment summary is published with
SimFaaS (https://github.com/pacslab/simfaas, examples/exp.csv) and re-typed, rounded, in
tests/data/lambda_lifetime_measurements.csv. 20 multi-hour experiments on AWS Lambda
(us-east-1, python3.6, 128 MB, 2020): Poisson arrivals at 0.0019-1.0 requests/s, a handler
of about 2 s (mean warm response 1.95-2.02 s, cold 2.15-2.56 s). The cold-start probability
was observed; the mean instance count was estimated by the authors assuming every instance
lives exactly 10 min after its last request. Idle-lifetime probe by the same authors
(https://github.com/pacslab/serverless-performance-modeling, deployments/02-*, June 2020):
the longest idle gap an instance survived was 635.8 s, the shortest that found it gone
645.0 s. See data/README.md, "Environment lifetime", for the other sources.

The model is run as the study ran: ``source: "api"``, Poisson arrivals at each measured
rate, exponential handler durations with the measured mean warm time (at 1,769 MB, so no
memory scaling), ``idle_lifetime_s: 600``, and long runs (at least 200,000 s, or 20,000
arrivals, at most the 30-day limit) so the start-up transient is negligible. The error
measure is the mean absolute percentage error over the 20 rates of
``summary["cold_starts"] / summary["invocations"]`` and of the time-average of
``timeseries["environments"]``.

MAPE (seed 1; seeds 1-3 give 8.5-9.9 % and 3.0-3.5 %):
- fixed 600 s idle lifetime (``idle_reclaim_lag_s: 0``, ``idle_lifetime_spread_s: 0``):
  13.6 % cold-start probability, 4.3 % environments;
- defaults (600 s + 40 s reclaim lag, 10 s spread): 8.5 %, 3.5 %.
Other routings among idle environments (``function.routing``; means of seeds 1-3):
"recent" 19.5 %, 3.8 %; "oldest" 15.0 %, 6.2 %; "random" 14.6 %, 5.5 % (newest: 9.4 %,
3.3 %), so the default stays newest-first (data/README.md, "Environment lifetime").
The measurements' own standard errors average 10 % of the cold-start probability (a
perfect model would show a MAPE near 8 %), and the environment counts rest on the
authors' 10-minute assumption, so the bounds asserted below are 10 % and 4 %.

Slow-ish (about 30 s): run with ``pytest tests/test_calibration.py``;
``python tests/test_calibration.py`` prints the table.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

import simlib

DATA = Path(__file__).parent / "data" / "lambda_lifetime_measurements.csv"
MIN_DURATION_S = 200_000.0
MAX_DURATION_S = 2_592_000.0  # workload.duration_s limit (30 days)
ARRIVALS = 20_000


def measurements() -> pd.DataFrame:
    return pd.read_csv(DATA, comment="#")


def scenario_for(rate_per_s: float, warm_s: float, **function) -> simlib.Scenario:
    duration = min(max(ARRIVALS / rate_per_s, MIN_DURATION_S), MAX_DURATION_S)
    fn = {"runtime": "python3.13", "memory_mb": 1769, "timeout_s": 900,
          "idle_lifetime_s": 600, "init_s": 0.3}
    fn.update(function)
    return simlib.Scenario.from_dict({
        "source": "api",
        "workload": {"pattern": "poisson", "rate_per_s": rate_per_s, "duration_s": duration},
        "function": fn,
        # exponential with mean warm_s: median = mean x ln 2 (the p99 is not used)
        "handler": {"duration_distribution": "exponential",
                    "duration_median_s": warm_s * math.log(2), "duration_p99_s": 1_000.0},
        "database": None,
    })


def compare(seed: int = 1, **function) -> pd.DataFrame:
    rows = []
    for m in measurements().itertuples():
        result = simlib.simulate(scenario_for(m.rate_per_s, m.warm_s, **function), seed=seed)
        s = result.summary
        rows.append({
            "rate_per_s": m.rate_per_s,
            "cold_measured": m.cold_start_prob,
            "cold_model": s["cold_starts"] / s["invocations"],
            "envs_measured": m.mean_environments,
            "envs_model": float(result.timeseries["environments"].mean()),
        })
    out = pd.DataFrame(rows)
    out["cold_ape"] = (out.cold_model - out.cold_measured).abs() / out.cold_measured * 100
    out["envs_ape"] = (out.envs_model - out.envs_measured).abs() / out.envs_measured * 100
    return out


def test_measurements_file_is_complete_and_sourced():
    df = measurements()
    assert len(df) == 20 and df.source.str.contains("Mahmoudi").all()
    assert df.rate_per_s.between(0.0018, 1.01).all()
    assert (df.cold_start_prob_se < df.cold_start_prob).all()


def test_cold_starts_and_environment_counts_match_aws_measurements():
    table = compare(seed=1)
    cold, envs = table.cold_ape.mean(), table.envs_ape.mean()
    assert cold < 10.0, (cold, table)
    assert envs < 4.0, (envs, table)
    # the fixed 600 s lifetime the model used before does worse on both
    before = compare(seed=1, idle_reclaim_lag_s=0, idle_lifetime_spread_s=0)
    assert before.cold_ape.mean() > cold and before.envs_ape.mean() > envs


if __name__ == "__main__":
    for label, fn in (("fixed 600 s", {"idle_reclaim_lag_s": 0, "idle_lifetime_spread_s": 0}),
                      ("defaults", {})):
        t = compare(**fn)
        print(label)
        print(t.round(4).to_string())
        print(f"MAPE cold starts {t.cold_ape.mean():.2f} %, environments {t.envs_ape.mean():.2f} %")
