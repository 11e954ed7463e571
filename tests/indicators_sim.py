"""A small, seeded simulated indicator panel with known truth, for the indicator tests.

Independent of :mod:`analysis.indicators.synthetic.panel`'s generator so the statistics are tested
against a data-generating process written separately from the one they are run on in the notebook.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

YEARS = list(range(2009, 2015))

CATALOGUE = pd.DataFrame(
    {
        "indicator_id": ["PRE01", "HOS01", "QOF01"],
        "name": ["broad-spectrum share", "emergency admissions", "total QOF"],
        "domain": ["prescribing", "hospital_use", "qof"],
        "distribution": ["binomial", "poisson", "binomial"],
        "higher_is_better": [False, False, True],
        "single_year": pd.array([pd.NA, pd.NA, 2014], dtype="Int64"),
    }
)

ORGANISATIONS = pd.DataFrame(
    {
        "organisation_id": ["ORG01", "ORG02", "ORG03"],
        "label": ["A", "B", "C"],
        "form": ["network", "federation", "multisite"],
        "n_practices": [30, 20, 10],
        "list_size": [200000, 150000, 80000],
        "ccgs_spanned": [1, 2, 1],
        "rurality": ["urban", "mixed", "urban"],
        "case_study": [True, False, False],
    }
)


def simulate(
    seed: int = 1,
    n_practices: int = 400,
    *,
    practice_sd: float = 0.0,
    org_trend: dict[str, float] | None = None,
    org_level: dict[str, float] | None = None,
    national_trend: float = -0.05,
) -> dict[str, pd.DataFrame]:
    """Practices x years x three indicators; the first 60 practices are organisation members.

    ORG01 = practices 0-29, ORG02 = 30-49 (practices 45-49 join in 2012), ORG03 = 50-59
    (practice 59 leaves from 2013). Log-link or logit-link linear predictor::

        eta = base + national_trend * (year - 2009) + u_p
              + org_level[o] + org_trend[o] * (year - 2009)

    Returns observations, membership, organisations, catalogue and truth tables.
    """
    rng = np.random.default_rng(seed)
    org_trend = org_trend or {"ORG01": -0.08, "ORG02": 0.0, "ORG03": 0.0}
    org_level = org_level or {"ORG01": 0.0, "ORG02": 0.3, "ORG03": 0.0}
    codes = [f"P{i:04d}" for i in range(n_practices)]
    membership = pd.DataFrame(
        {
            "practice_code": codes[:60],
            "organisation_id": ["ORG01"] * 30 + ["ORG02"] * 20 + ["ORG03"] * 10,
            "joined": pd.array([2005] * 45 + [2012] * 5 + [2005] * 10, dtype="Int64"),
            "left": pd.array([pd.NA] * 59 + [2013], dtype="Int64"),
        }
    )
    size = rng.lognormal(np.log(6000), 0.4, n_practices).round()
    u = rng.normal(0, practice_sd, (n_practices, 3))
    rows = []
    for year in YEARS:
        t = year - 2009
        member = membership[
            (membership["joined"] <= year)
            & (membership["left"].isna() | (membership["left"] > year)).fillna(True)
        ]
        org_of = dict(zip(member["practice_code"], member["organisation_id"], strict=True))
        for j, code in enumerate(codes):
            org = org_of.get(code)
            shift_level = org_level.get(org, 0.0) if org else 0.0
            shift_trend = org_trend.get(org, 0.0) if org else 0.0
            # PRE01: binomial, logit(p) around 10%
            items = rng.poisson(size[j] * 0.5) + 1
            eta = -2.2 + national_trend * t + u[j, 0] + shift_level + shift_trend * t
            rows.append((code, year, "PRE01", rng.binomial(items, 1 / (1 + np.exp(-eta))), items))
            # HOS01: poisson, rate around 0.09 per patient
            eta = np.log(0.09) + 0.03 * t + u[j, 1] + shift_level + shift_trend * t
            rows.append((code, year, "HOS01", rng.poisson(size[j] * np.exp(eta)), size[j]))
            if year == 2014:
                eta = 2.0 + u[j, 2] + (0.4 if org in ("ORG01", "ORG02") else 0.0)
                rows.append(
                    (code, year, "QOF01", rng.binomial(1000, 1 / (1 + np.exp(-eta))), 1000.0)
                )
    obs = pd.DataFrame(
        rows, columns=["practice_code", "year", "indicator_id", "numerator", "denominator"]
    )
    obs = obs.astype({"numerator": float, "denominator": float})
    truth = []
    for org in ORGANISATIONS["organisation_id"]:
        for ind in ("PRE01", "HOS01"):
            truth.append((org, ind, "trend_log_ratio", org_trend.get(org, 0.0)))
            truth.append((org, ind, "level_log_ratio", org_level.get(org, 0.0)))
            truth.append((org, ind, "mean_practice_effect", 0.0))
    truth += [
        ("ENGLAND", "PRE01", "national_trend", national_trend),
        ("ENGLAND", "HOS01", "national_trend", 0.03),
        ("ENGLAND", "PRE01", "between_practice_sd", practice_sd),
        ("ENGLAND", "HOS01", "between_practice_sd", practice_sd),
        ("ENGLAND", "PRE01", "practice_year_sd", 0.0),
        ("ENGLAND", "HOS01", "practice_year_sd", 0.0),
    ]
    return {
        "observations": obs.sort_values(
            ["practice_code", "year", "indicator_id"], ignore_index=True
        ),
        "membership": membership,
        "organisations": ORGANISATIONS.copy(),
        "catalogue": CATALOGUE.copy(),
        "truth": pd.DataFrame(
            truth, columns=["organisation_id", "indicator_id", "parameter", "value"]
        ),
    }
