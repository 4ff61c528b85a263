"""The statistics of `segw report` (pure Python, no warehouse): the same numbers as scipy on raw
data, no more false positives than the level under a null effect, intervals that cover."""
from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from scipy import stats

from segwarehouse.outcomes import ArmStats, choose_control, compare_means, compare_rates, mean_interval


def arm_of(values) -> ArmStats:
    values = [Decimal(int(v)) for v in values]
    return ArmStats(len(values), sum(values, Decimal(0)), sum((v * v for v in values), Decimal(0)),
                    sum(1 for v in values if v))


def rates(n, hits) -> ArmStats:
    return ArmStats(n, Decimal(hits), Decimal(hits), hits)


def test_rate_test_is_the_pooled_two_proportion_z_test():
    arm, control = rates(10_000, 1_312), rates(10_000, 1_004)
    result = compare_rates(arm, control)
    p1, p2 = 0.1312, 0.1004
    pooled = (1312 + 1004) / 20_000
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (2 / 10_000))
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    half = 1.959963984540054 * math.sqrt(p1 * (1 - p1) / 10_000 + p2 * (1 - p2) / 10_000)
    assert (result.ci_low, result.ci_high) == pytest.approx((p1 - p2 - half, p1 - p2 + half), rel=1e-12)
    assert result.difference == pytest.approx(0.0308) and result.lift == pytest.approx(0.0308 / 0.1004)


def test_mean_test_is_welch_on_the_raw_values():
    rng = np.random.default_rng(7)
    a = rng.poisson(3.0, 400) * rng.integers(0, 2, 400)
    b = rng.poisson(2.6, 300)
    result = compare_means(arm_of(a), arm_of(b))
    scipy_result = stats.ttest_ind(a, b, equal_var=False)
    interval = scipy_result.confidence_interval(0.95)
    assert result.p_value == pytest.approx(scipy_result.pvalue, rel=1e-9)
    assert (result.ci_low, result.ci_high) == pytest.approx((interval.low, interval.high), rel=1e-9)
    assert result.difference == pytest.approx(a.mean() - b.mean(), rel=1e-12)


def test_degenerate_arms():
    assert compare_rates(rates(100, 0), rates(100, 0)).p_value == 1.0
    assert compare_rates(rates(0, 0), rates(100, 5)).p_value is None
    assert compare_means(arm_of([3]), arm_of([1, 2])).p_value is None
    same = compare_means(arm_of([2, 2, 2]), arm_of([2, 2]))
    assert (same.difference, same.p_value) == (0.0, 1.0)
    assert mean_interval("rate", rates(1, 1)) == (None, None)


def test_control_rule():
    assert choose_control(["a", "b", "control"]) == "control"
    assert choose_control(["a", "holdout"]) == "holdout"
    assert choose_control(["holdout", "control"]) == "control"
    assert choose_control(["email_a", "email_b"]) == "email_a"


def test_null_experiments_are_not_significant_more_often_than_the_level():
    """2,000 null A/B tests of a rate (10% in both arms, 10,000 members each) and 1,000 of a mean:
    the share with p < 0.05 stays within sampling error of 5% (binomial 3 sigma)."""
    rng = np.random.default_rng(20261206)
    trials = 2000
    hits = rng.binomial(10_000, 0.10, size=(trials, 2))
    rejected = sum(compare_rates(rates(10_000, int(h1)), rates(10_000, int(h2))).p_value < 0.05 for h1, h2 in hits)
    assert rejected / trials <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / trials)
    assert rejected > 0  # the test can reject at all
    trials = 1000
    rejected = 0
    for _ in range(trials):
        a = rng.poisson(1.0, 300) * rng.integers(0, 5, 300)  # skewed, many zeros: revenue-like
        b = rng.poisson(1.0, 250) * rng.integers(0, 5, 250)
        rejected += compare_means(arm_of(a), arm_of(b)).p_value < 0.05
    assert rejected / trials <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / trials)


def test_intervals_cover_a_known_effect():
    """10% vs 13% over 10,000 members per arm, 1,000 times: the 95% interval holds 0.03 in about
    95% of them, and the test sees the effect every time."""
    rng = np.random.default_rng(11)
    trials = 1000
    control = rng.binomial(10_000, 0.10, trials)
    treatment = rng.binomial(10_000, 0.13, trials)
    results = [compare_rates(rates(10_000, int(t)), rates(10_000, int(c))) for t, c in zip(treatment, control)]
    covered = sum(r.ci_low <= 0.03 <= r.ci_high for r in results) / trials
    assert abs(covered - 0.95) <= 3 * math.sqrt(0.05 * 0.95 / trials)
    assert all(r.p_value < 0.001 for r in results)
