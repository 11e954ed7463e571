"""The tau^2 estimators' inputs: missing estimates however they are spelled, missing group
labels, the default method, estimates clipped at zero, and each refusal's exact message.

Expected values are DerSimonian-Laird's closed form, written out here.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from analysis.core import stats


def dl(y, v) -> float:
    y, v = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    w = 1 / v
    mean = np.sum(w * y) / np.sum(w)
    q = np.sum(w * (y - mean) ** 2)
    return max(q - (len(y) - 1), 0.0) / (np.sum(w) - np.sum(w**2) / np.sum(w))


Y = [0.1, 2.9, -1.7, 0.4, 1.2, -0.6]
V = [0.2, 0.5, 0.3, 0.1, 0.4, 0.25]


def test_the_default_method_is_dersimonian_laird():
    assert stats.between_variance(Y, V) == pytest.approx(dl(Y, V), rel=1e-12)
    rows = stats.between_variance_rows(np.array([Y]), np.array([V]))
    assert rows.tolist() == pytest.approx([dl(Y, V)], rel=1e-12)


@pytest.mark.parametrize("method", stats.TAU2_METHODS)
def test_a_missing_estimate_or_variance_drops_its_pair_whether_none_or_nan(method):
    groups = ["a", "a", "b", "b", "c", "c", "c", "c"]
    y = [*Y, None, np.nan]
    v = [*V, 0.3, 0.3]
    kept = stats.between_variance(Y, V, method=method, groups=groups[:6])
    assert stats.between_variance(y, v, method=method, groups=groups) == pytest.approx(
        kept, rel=1e-12
    )
    y = [*Y, 0.5, 0.7]
    v = [*V, None, np.nan]
    assert stats.between_variance(y, v, method=method, groups=groups) == pytest.approx(
        kept, rel=1e-12
    )


def test_without_sampling_variance_a_missing_estimate_is_dropped_too():
    y = [*Y, None]
    assert stats.between_variance(y, [0] * 7) == pytest.approx(np.var(Y, ddof=1), rel=1e-12)


def test_missing_group_labels_none_or_nan_are_one_group():
    y = [0.0, 2.0, 10.0, 14.0, 5.0, 9.0]
    v = [1.0] * 6
    mixed = [None, np.nan, "b", "b", "c", "c"]
    same = ["m", "m", "b", "b", "c", "c"]
    assert stats.dersimonian_laird_within(y, v, mixed) == pytest.approx(
        stats.dersimonian_laird_within(y, v, same), rel=1e-12
    )
    floats = [np.nan, np.nan, 1.0, 1.0, 2.0, 2.0]
    assert stats.dersimonian_laird_within(y, v, floats) == pytest.approx(
        stats.dersimonian_laird_within(y, v, same), rel=1e-12
    )


def test_within_groups_a_spread_below_the_sampling_variance_gives_zero():
    y = [0.0, 0.1, 5.0, 5.1]
    assert stats.dersimonian_laird_within(y, [1.0] * 4, [1, 1, 2, 2]) == 0.0
    rows = stats.dersimonian_laird_within_rows(
        np.array([y]), np.ones((1, 4)), np.array([0, 0, 1, 1])
    )
    assert rows.tolist() == [0.0]


def test_rows_without_a_target_centre_each_row_on_its_own_weighted_mean():
    rng = np.random.default_rng(4)
    v = rng.uniform(0.5, 2.0, (3, 30))
    y = rng.normal(0, np.sqrt(v + 0.3)) + np.array([[0.0], [5.0], [-3.0]])
    for method in ("winsorised", "winsorised_rescaled"):
        rows = stats.between_variance_rows(y, v, method=method)
        one = [stats.between_variance(y[i], v[i], method=method) for i in range(3)]
        np.testing.assert_allclose(rows, one, rtol=1e-12)


def test_refusals_say_exactly_what_is_wrong():
    messages = {
        "sampling variances must be > 0": lambda: stats.between_variance([1, 2], [1, -1]),
        "a between-unit variance needs at least two units": lambda: stats.reml_tau2([1], [1]),
        "method 'dl_within' needs the units' groups": lambda: stats.between_variance(
            Y, V, method="dl_within"
        ),
    }
    for message, call in messages.items():
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value) == message
    with pytest.raises(ValueError) as err:
        stats.between_variance([], [])
    assert str(err.value) == "a between-unit variance needs at least two units"
    y, v = np.array([Y]), np.array([V])
    with pytest.raises(ValueError) as err:
        stats.between_variance_rows(y, v, method="dl_within")
    assert str(err.value) == "method 'dl_within' needs the units' groups"
    with pytest.raises(ValueError) as err:
        stats.between_variance_rows(y, v, method="ml")
    assert str(err.value) == f"method 'ml' is not one of {stats.TAU2_METHODS}"


def test_the_null_moment_takes_fractions_below_one_half_ten_percent_by_default():
    q = sps.norm.ppf(0.9)
    assert stats.winsorised_null_moment() == pytest.approx(
        1 - 0.2 - 2 * q * sps.norm.pdf(q) + 0.2 * q**2, rel=1e-12
    )
    for bad in (0.5, -0.1, 1.2):
        with pytest.raises(ValueError) as err:
            stats.winsorised_null_moment(bad)
        assert str(err.value) == f"fraction must be in [0, 0.5), got {bad}"
    z = np.linspace(-3, 3, 101)
    assert stats.rescaled_winsorised_phi(z, 0.2) == pytest.approx(
        stats.winsorised_phi(z, 0.2) / stats.winsorised_null_moment(0.2), rel=1e-12
    )
    assert stats.winsorised_phi(z, 0.2) != pytest.approx(stats.winsorised_phi(z, 0.1))
