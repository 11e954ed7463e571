"""Independent references and builders shared by several test rooms.

- :func:`statsmodels_cluster_glm`: the binomial (logit) or Poisson (log, offset) GLM fitted by
  statsmodels with practice-clustered covariance, against which the fast fits are checked.
- :func:`statsmodels_cluster_slope`: a trend by OLS (practice dummies or a constant) with
  practice-clustered standard errors, against which the REAL chapter's trends are checked.
- :func:`check_row`: one reproduction check with defaults for the fields a test does not vary.
- :data:`SETTINGS`, :data:`CONFIDENCE`, :data:`DISTRIBUTION`, :data:`TINY` and
  :func:`funnel_case`: the Hypothesis settings and strategies of the property tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from analysis.core import reproduction as rp

# Per-test settings (not a global profile, which would change other files' tests too).
SETTINGS = settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
CONFIDENCE = st.sampled_from([0.8, 0.9, 0.95, 0.99, 0.998])
DISTRIBUTION = st.sampled_from(["binomial", "poisson"])
TINY = 1e-12


@st.composite
def funnel_case(draw):
    """A distribution, a target rate and two denominators ``n_small < n_large``."""
    distribution = draw(DISTRIBUTION)
    if distribution == "binomial":
        target = draw(st.floats(0.001, 0.999))
    else:
        target = draw(st.floats(0.001, 50.0))
    n_small = draw(st.floats(1.0, 1e4))
    n_large = n_small * draw(st.floats(1.01, 100.0))
    return distribution, target, n_small, n_large


def statsmodels_cluster_glm(frame: pd.DataFrame, design: np.ndarray, distribution: str):
    """statsmodels' GLM of ``frame``'s counts on ``design``, clustered by ``practice_code``."""
    if distribution == "binomial":
        endog = np.column_stack([frame["numerator"], frame["denominator"] - frame["numerator"]])
        model = sm.GLM(endog, design, family=sm.families.Binomial())
    else:
        model = sm.GLM(
            frame["numerator"].to_numpy(),
            design,
            family=sm.families.Poisson(),
            offset=np.log(frame["denominator"].to_numpy()),
        )
    groups = pd.factorize(frame["practice_code"])[0]
    return model.fit(cov_type="cluster", cov_kwds={"groups": groups}, tol=1e-14)


def check_row(check_id: str, published, reproduced, tolerance=0.0, must_match=None, **kw):
    """A consistency check of Table 1 of the federations report unless ``kw`` says otherwise
    (must-match as the kind requires unless ``must_match`` says otherwise)."""
    fields = dict(
        kind="consistency",
        strand="s",
        quantity=f"quantity {check_id}",
        source_file="000_088f6aeed890f33a.txt",
        source_location="Table 1",
        source_lines="139-164",
    )
    fields.update(kw)
    return rp.check(
        check_id,
        published=published,
        reproduced=reproduced,
        tolerance=tolerance,
        must_match=must_match,
        **fields,
    )


def statsmodels_cluster_slope(part: pd.DataFrame, fixed_effects: bool) -> tuple[float, float, int]:
    """statsmodels OLS of ``value`` on ``year`` (practice dummies or a constant), clustered by
    practice with the G / (G - 1) factor only: ``(slope, se, practices)``; NaN for one
    practice."""
    design = pd.DataFrame({"year": part["year"].astype(float)})
    if fixed_effects:
        design = design.join(pd.get_dummies(part["practice_code"], dtype=float))
    else:
        design = sm.add_constant(design)
    groups = pd.factorize(part["practice_code"])[0]
    clusters = len(set(groups))
    if clusters < 2:
        return np.nan, np.nan, clusters
    fit = sm.OLS(part["value"], design).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False}
    )
    return fit.params["year"], fit.bse["year"] * np.sqrt(clusters / (clusters - 1)), clusters
