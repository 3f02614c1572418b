"""Tests for simlib.theory: known values, properties, and a Monte Carlo check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simlib.theory import (
    erlang_b,
    erlang_c,
    mmc_mean_queue_length,
    mmc_mean_wait,
    throttle_fraction_curve,
)

servers_st = st.integers(min_value=0, max_value=150)
pos_servers_st = st.integers(min_value=1, max_value=150)
load_st = st.floats(min_value=0.0, max_value=500.0, allow_nan=False)

TOL = 1e-12


# --------------------------------------------------------------------------
# Reference implementations (direct textbook formulas, small c only)
# --------------------------------------------------------------------------


def direct_erlang_b(c: int, a: float) -> float:
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return terms[c] / math.fsum(terms)


def direct_erlang_c(c: int, a: float) -> float:
    top = a**c / math.factorial(c) * c / (c - a)
    below = math.fsum(a**k / math.factorial(k) for k in range(c))
    return top / (below + top)


# --------------------------------------------------------------------------
# Known values
# --------------------------------------------------------------------------


@pytest.mark.parametrize("a", [0.0, 0.1, 0.5, 1.0, 3.0, 42.0])
def test_erlang_b_single_server(a):
    assert erlang_b(1, a) == pytest.approx(a / (1 + a), rel=1e-14, abs=0)


def test_erlang_b_known_values():
    assert erlang_b(2, 1.0) == pytest.approx(0.2, rel=1e-14)
    assert erlang_b(10, 5.0) == pytest.approx(0.01838, abs=5e-6)
    assert erlang_b(10, 5.0) == pytest.approx(0.018384570336, rel=1e-9)


def test_erlang_b_edge_cases():
    assert erlang_b(0, 0.0) == 1.0
    assert erlang_b(0, 7.5) == 1.0
    assert erlang_b(5, 0.0) == 0.0
    assert isinstance(erlang_b(3, 2), float)


def test_erlang_b_large_system_is_finite():
    # The direct formula would overflow here; the recursion must not.
    b = erlang_b(5000, 4900.0)
    assert 0.0 < b < 0.05
    assert erlang_b(5000, 1e6) == pytest.approx(1 - 5000 / 1e6, rel=1e-3)


def test_erlang_c_known_values():
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-14)
    # M/M/1: probability of waiting equals utilisation.
    for rho in (0.1, 0.5, 0.9, 0.99):
        assert erlang_c(1, rho) == pytest.approx(rho, rel=1e-12)
    assert erlang_c(3, 0.0) == 0.0


@pytest.mark.parametrize("lam,mu", [(0.5, 1.0), (0.9, 1.0), (3.0, 4.0), (1e-3, 2.0)])
def test_mm1_mean_wait(lam, mu):
    rho = lam / mu
    assert mmc_mean_wait(lam, mu, 1) == pytest.approx(rho / (mu - lam), rel=1e-12)
    assert mmc_mean_queue_length(lam, mu, 1) == pytest.approx(rho**2 / (1 - rho), rel=1e-12)


def test_mm2_mean_wait_known_value():
    # lambda = mu = 1, c = 2: C = 1/3, Wq = C / (2 - 1) = 1/3, Lq = 1/3.
    assert mmc_mean_wait(1.0, 1.0, 2) == pytest.approx(1 / 3, rel=1e-14)
    assert mmc_mean_queue_length(1.0, 1.0, 2) == pytest.approx(1 / 3, rel=1e-14)


def test_zero_arrivals_means_no_wait():
    assert mmc_mean_wait(0.0, 1.0, 4) == 0.0
    assert mmc_mean_queue_length(0.0, 1.0, 4) == 0.0


# --------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------


@given(servers_st, load_st)
def test_erlang_b_is_a_probability(c, a):
    b = erlang_b(c, a)
    assert 0.0 <= b <= 1.0


@given(servers_st, load_st)
def test_erlang_b_decreasing_in_servers(c, a):
    assert erlang_b(c + 1, a) <= erlang_b(c, a) * (1 + TOL)


@given(servers_st, load_st, load_st)
def test_erlang_b_increasing_in_load(c, a1, a2):
    lo, hi = sorted((a1, a2))
    assert erlang_b(c, lo) <= erlang_b(c, hi) * (1 + TOL) + TOL


@given(st.integers(min_value=0, max_value=25), st.floats(0.0, 40.0))
def test_erlang_b_recursion_matches_direct_formula(c, a):
    assert erlang_b(c, a) == pytest.approx(direct_erlang_b(c, a), rel=1e-9, abs=1e-300)


@given(pos_servers_st, st.floats(0.0, 1.0, exclude_max=True))
def test_erlang_c_bounds_and_dominates_b(c, frac):
    a = frac * c
    b = erlang_b(c, a)
    cc = erlang_c(c, a)
    assert 0.0 <= cc <= 1.0 + TOL
    assert cc >= b * (1 - TOL)


@given(st.integers(min_value=1, max_value=25), st.floats(0.0, 0.999))
def test_erlang_c_matches_direct_formula(c, frac):
    a = frac * c
    assert erlang_c(c, a) == pytest.approx(direct_erlang_c(c, a), rel=1e-9, abs=1e-300)


@given(
    st.floats(min_value=0.01, max_value=100.0),
    st.integers(min_value=1, max_value=60),
    st.floats(min_value=0.0, max_value=0.99),
)
def test_littles_law_and_wait_formula(mu, c, rho):
    lam = rho * c * mu
    wq = mmc_mean_wait(lam, mu, c)
    assert wq >= 0.0
    assert wq == pytest.approx(erlang_c(c, lam / mu) / (c * mu - lam), rel=1e-12)
    assert mmc_mean_queue_length(lam, mu, c) == pytest.approx(lam * wq, rel=1e-12)


@settings(max_examples=50)
@given(
    st.integers(min_value=0, max_value=60),
    st.lists(load_st, min_size=1, max_size=20),
)
def test_throttle_curve_matches_scalar(c, loads):
    curve = throttle_fraction_curve(c, loads)
    assert isinstance(curve, np.ndarray)
    assert curve.shape == (len(loads),)
    expected = [erlang_b(c, a) for a in loads]
    np.testing.assert_allclose(curve, expected, rtol=1e-13, atol=0)


def test_throttle_curve_preserves_shape():
    loads = np.linspace(0.0, 20.0, 12).reshape(3, 4)
    curve = throttle_fraction_curve(10, loads)
    assert curve.shape == (3, 4)
    assert curve[0, 0] == 0.0
    assert np.all(np.diff(curve.ravel()) > 0)


# --------------------------------------------------------------------------
# Monte Carlo: M/M/1 mean wait via the Lindley recursion
# --------------------------------------------------------------------------


def lindley_waits(interarrivals: np.ndarray, services: np.ndarray) -> np.ndarray:
    """Waiting times W_n of a FIFO single-server queue, starting empty.

    Lindley: W_0 = 0, W_{n+1} = max(0, W_n + S_n - A_{n+1}).  Unrolled, with
    P_n = sum_{k=1..n} (S_{k-1} - A_k) and P_0 = 0, this is
    W_n = P_n - min_{0<=j<=n} P_j, which numpy evaluates without a loop.
    """
    steps = services[:-1] - interarrivals[1:]
    p = np.concatenate(([0.0], np.cumsum(steps)))
    return p - np.minimum.accumulate(p)


def test_lindley_helper_matches_loop():
    rng = np.random.default_rng(1)
    a = rng.exponential(1.0, 500)
    s = rng.exponential(0.8, 500)
    w = [0.0]
    for n in range(499):
        w.append(max(0.0, w[-1] + s[n] - a[n + 1]))
    np.testing.assert_allclose(lindley_waits(a, s), w, rtol=1e-9, atol=1e-9)


def test_mm1_mean_wait_monte_carlo():
    lam, mu, n = 0.5, 1.0, 200_000
    rng = np.random.default_rng(20240601)
    interarrivals = rng.exponential(1 / lam, n)
    services = rng.exponential(1 / mu, n)
    simulated = lindley_waits(interarrivals, services).mean()
    assert simulated == pytest.approx(mmc_mean_wait(lam, mu, 1), rel=0.05)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "servers,load,match",
    [
        (-1, 1.0, r"servers must be an integer >= 0, got -1"),
        (2.5, 1.0, r"servers must be an integer >= 0, got 2\.5"),
        (True, 1.0, r"servers must be an integer >= 0, got True"),
        ("3", 1.0, r"servers must be an integer >= 0, got '3'"),
        (3, -0.5, r"offered_load must be a finite number >= 0, got -0\.5"),
        (3, math.nan, r"offered_load must be a finite number >= 0, got nan"),
        (3, math.inf, r"offered_load must be a finite number >= 0, got inf"),
    ],
)
def test_erlang_b_rejects_bad_arguments(servers, load, match):
    with pytest.raises(ValueError, match=match):
        erlang_b(servers, load)


def test_erlang_b_accepts_numpy_scalars():
    assert erlang_b(np.int64(2), np.float64(1.0)) == pytest.approx(0.2)


@pytest.mark.parametrize("servers,load", [(2, 2.0), (2, 3.5), (0, 0.0), (1, 1.0)])
def test_erlang_c_rejects_unstable_load(servers, load):
    with pytest.raises(ValueError, match=r"offered_load must be < servers.*unstable"):
        erlang_c(servers, load)


def test_erlang_c_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"servers must be an integer >= 0, got -2"):
        erlang_c(-2, 1.0)
    with pytest.raises(ValueError, match=r"offered_load must be a finite number >= 0"):
        erlang_c(2, -1.0)


@pytest.mark.parametrize("fn", [mmc_mean_wait, mmc_mean_queue_length])
def test_mmc_rejects_bad_arguments(fn):
    with pytest.raises(ValueError, match=r"arrival_rate must be a finite number >= 0, got -1"):
        fn(-1.0, 1.0, 1)
    with pytest.raises(ValueError, match=r"service_rate must be a finite number > 0, got 0"):
        fn(1.0, 0.0, 2)
    with pytest.raises(ValueError, match=r"servers must be an integer >= 1, got 0"):
        fn(0.5, 1.0, 0)
    unstable = r"arrival_rate must be < servers \* service_rate.*unstable"
    with pytest.raises(ValueError, match=unstable):
        fn(2.0, 1.0, 2)
    with pytest.raises(ValueError, match=r"unstable"):
        fn(5.0, 1.0, 3)


def test_throttle_curve_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"servers must be an integer >= 0, got -1"):
        throttle_fraction_curve(-1, [1.0])
    bad = r"offered_loads must contain only finite values >= 0, got "
    with pytest.raises(ValueError, match=bad + r"-2\.0"):
        throttle_fraction_curve(3, [1.0, -2.0, 3.0])
    with pytest.raises(ValueError, match=bad + "nan"):
        throttle_fraction_curve(3, np.array([np.nan]))
    with pytest.raises(ValueError, match=r"offered_loads must be an array of finite numbers"):
        throttle_fraction_curve(3, ["a", "b"])
