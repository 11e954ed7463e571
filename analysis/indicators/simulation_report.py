"""The simulation chapter's data, choices and figure (issue 14).

:func:`load_replications` reads the replications the ``simulation`` sweep of ``pipeline.yml``
gathered (run on Dask before the chapter) with the settings they were made with;
:func:`method_choices` reads the calibration of :mod:`analysis.indicators.simulation` and
says, per method option of the quality-indicator notebook, which choice the evidence
favours; :func:`calibration_figure` draws coverage and type-I error with Monte-Carlo errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.indicators import simulation as sim
from analysis.paths import sweep_record, sweep_results

SETTINGS = ("replications", "seed", "sd", "effect", "size", "alpha")


@dataclass(frozen=True)
class Replications:
    """A sweep's gathered replications and the settings behind them."""

    frame: pd.DataFrame
    sweep: str
    title: str
    tasks: int
    settings: dict[str, Any]

    @property
    def alpha(self) -> float:
        return float(self.settings.get("alpha", 0.05))


def load_replications(sweep: str = "simulation") -> Replications:
    """The replications gathered by ``sweep`` (one batch per task), checked and described.

    Raises ``FileNotFoundError`` naming the file (and the command that makes it) when the
    sweep has not run, and ``ValueError`` when the file lacks a column the summaries need.
    """
    path, record_path = sweep_results(sweep), sweep_record(sweep)
    if not path.is_file() or not record_path.is_file():
        raise FileNotFoundError(
            f"{path}: no gathered results of sweep {sweep!r}; run `compendium run` (or "
            f"`compendium sweep {sweep}`) first"
        )
    record = json.loads(record_path.read_text(encoding="utf-8"))
    frame = pd.read_csv(path)
    missing = [c for c in sim.COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {sim.COLUMNS}")
    settings = {k: v for k, v in {**record.get("grid", {}), **record.get("fixed", {})}.items()
                if k in SETTINGS or k == "batch"}  # fmt: skip
    return Replications(
        frame=frame[sim.COLUMNS],
        sweep=sweep,
        title=str(record.get("title", sweep)),
        tasks=len(record.get("keys", [])),
        settings=settings,
    )


PUBLISHED = {"tau2_method": "winsorised", "variation_measure": "cv", "score": "z"}
"""The choice each option had before issue 14 (the method as published)."""


def method_choices(
    calibration: pd.DataFrame, summary: pd.DataFrame, *, alpha: float = 0.05
) -> pd.DataFrame:
    """The calibrated choice for each method option, with the evidence that picks it.

    ``tau2_method``: the first calibrated additive estimator (coverage and type-I error
    within Monte-Carlo error of nominal, :func:`analysis.indicators.simulation.calibration`)
    in the order DerSimonian-Laird, REML, rescaled Winsorised, published Winsorised
    (simplest and most widely used first); the first of them if none is calibrated.
    ``variation_measure``: the measure whose slope test has type-I error closest to ``alpha``
    (the spread is constant in the simulation). ``score``: the score whose mean Spearman
    correlation with organisation size is closest to 0.

    Returns
    -------
    pandas.DataFrame
        ``option``, ``published``, ``chosen``, ``evidence``.
    """
    preference = ["dl", "reml", "winsorised_rescaled", "winsorised"]
    ranked = calibration.set_index("method").reindex(preference).dropna(subset=["coverage"])
    calibrated = ranked[ranked["calibrated"].astype(bool)]
    best = (calibrated if len(calibrated) else ranked).reset_index().iloc[0]
    published = calibration.set_index("method").loc[PUBLISHED["tau2_method"]]
    rows = [
        {
            "option": "tau2_method",
            "published": PUBLISHED["tau2_method"],
            "chosen": best["method"],
            "evidence": (
                f"coverage {best['coverage']:.3f} (MC SE {best['coverage_mcse']:.3f}), type-I "
                f"{best['type1_error']:.3f} ({best['type1_mcse']:.3f}); published: coverage "
                f"{published['coverage']:.3f}, type-I {published['type1_error']:.3f}"
            ),
        }
    ]
    variation = summary[summary["analysis"] == "variation"]
    pooled = variation.groupby("method").apply(
        lambda g: pd.Series(
            {
                "rate": np.average(g["reject_rate"], weights=g["n"]),
                "n": g["n"].sum(),
            }
        ),
        include_groups=False,
    )
    pooled["mcse"] = np.sqrt(pooled["rate"] * (1 - pooled["rate"]) / pooled["n"])
    chosen = (pooled["rate"] - alpha).abs().idxmin()
    rows.append(
        {
            "option": "variation_measure",
            "published": PUBLISHED["variation_measure"],
            "chosen": chosen,
            "evidence": "; ".join(
                f"{m}: type-I {r['rate']:.3f} (MC SE {r['mcse']:.3f})" for m, r in pooled.iterrows()
            ),
        }
    )
    score = summary[summary["analysis"] == "score"]
    rho = score.groupby("method").apply(
        lambda g: pd.Series(
            {
                "rho": np.average(g["bias"], weights=g["n"]),
                "mcse": float(np.sqrt(np.sum((g["bias_mcse"] * g["n"]) ** 2)) / g["n"].sum()),
            }
        ),
        include_groups=False,
    )
    rows.append(
        {
            "option": "score",
            "published": PUBLISHED["score"],
            "chosen": rho["rho"].abs().idxmin(),
            "evidence": "; ".join(
                f"{m}: mean Spearman rho with size {r['rho']:.2f} (MC SE {r['mcse']:.2f})"
                for m, r in rho.iterrows()
            ),
        }
    )
    return pd.DataFrame(rows)


def calibration_figure(calibration: pd.DataFrame, *, alpha: float = 0.05):
    """Coverage and type-I error per method with +/- 2 Monte-Carlo standard errors."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    y = np.arange(len(calibration))
    panels = (
        ("coverage", "coverage_mcse", 1 - alpha, "coverage of the 95% interval"),
        ("type1_error", "type1_mcse", alpha, "type-I error"),
    )
    for ax, (column, mcse, nominal, label) in zip(axes, panels, strict=True):
        ax.errorbar(
            calibration[column], y, xerr=2 * calibration[mcse], fmt="o", color="#1f4e79", capsize=3
        )
        ax.axvline(nominal, color="#b00020", linestyle="--", linewidth=1)
        ax.set_xlabel(label)
    axes[0].set_yticks(y, calibration["method"])
    axes[0].invert_yaxis()
    fig.suptitle("Organisation-against-England level test, simulation (SYNTHETIC)")
    fig.tight_layout()
    return fig
