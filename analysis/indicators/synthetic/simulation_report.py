"""The simulation chapter's tables, rule, choices and figure.

:func:`load_replications` reads the moments the ``simulation`` sweep of ``pipeline.yml``
gathered (run on Dask before the chapter) and adds up its batches; :func:`summarise` turns
them into means with Monte-Carlo standard errors **clustered by replication**;
:func:`calibration` judges every level and trend method in every scenario by the rule
stated in advance (:data:`RULE`); :func:`method_choices` picks, per option of the
quality-indicator notebook, the method the evidence supports and names the scenario that
decided it; :func:`calibration_figure` draws the calibration table.

Clustered standard errors: a cell's estimate is ``p = sum x_r / sum n_r`` over replications
``r`` (``x_r`` the sum over the cell's units of one replication, ``n_r`` their number), and
its variance ``R / (R - 1) sum (x_r - p n_r)^2 / (sum n_r)^2`` (the ratio estimator's, from
the moments ``total_sq - 2 p cross + p^2 n_sq``): organisations of one replication share
England's estimates and are not independent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.core.layout import WIDE, is_narrow, key_height, responsive, wrap
from analysis.core.sentences import Sentences
from analysis.indicators.synthetic import simulation as sim
from analysis.indicators.synthetic import simulation_design as sd
from analysis.paths import sweep_record, sweep_results

SETTINGS = ("replications", "seed", "scenario", "alpha")
KEYS = ["scenario", "analysis", "method", "size", "effect", "quantity"]
RULE = {"coverage": (0.94, 0.96), "type1": (0.04, 0.06), "max_mcse": 0.005, "rho": 0.1}
"""The calibration rule, fixed before any result was seen: a method is *calibrated* in a
scenario when its coverage of the 95% interval is within 0.94-0.96 and its type-I error
within 0.04-0.06, each with a clustered Monte-Carlo standard error of at most 0.005; *not
calibrated* when either is outside its band (or, with a larger standard error, when the
estimate +/- 2 standard errors lies wholly outside); otherwise *undetermined*. Variation
tests are judged on type-I error alone; a score is *size-neutral* when its mean Spearman
correlation with size is within +/- 0.1."""


@dataclass(frozen=True)
class Replications:
    """A sweep's gathered moments (batches added up) and the settings behind them."""

    frame: pd.DataFrame
    sweep: str
    title: str
    tasks: int
    settings: dict[str, Any]

    @property
    def alpha(self) -> float:
        return float(self.settings.get("alpha", 0.05))


def combine(frame: pd.DataFrame) -> pd.DataFrame:
    """Moments of several batches added up, one row per key (:data:`KEYS`)."""
    sums = ["replications", "n", "total", "total_sq", "cross", "n_sq"]
    return frame.groupby(KEYS, as_index=False, sort=False)[sums].sum()


def load_replications(sweep: str = "simulation") -> Replications:
    """The moments gathered by ``sweep`` (one batch per task), added up and described.

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
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    missing = [c for c in sim.COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {sim.COLUMNS}")
    settings = {k: v for k, v in {**record.get("grid", {}), **record.get("fixed", {})}.items()
                if k in SETTINGS or k == "batch"}  # fmt: skip
    return Replications(
        frame=combine(frame[sim.COLUMNS].astype({"effect": str})),
        sweep=sweep,
        title=str(record.get("title", sweep)),
        tasks=len(record.get("keys", [])),
        settings=settings,
    )


def summarise(moments: pd.DataFrame) -> pd.DataFrame:
    """Mean and clustered Monte-Carlo standard error of every quantity in every cell.

    Returns
    -------
    pandas.DataFrame
        One row per scenario, analysis, method, size (0 = all) and effect cell:
        ``replications``, ``n`` (units: organisation-replications, or replications), and
        per quantity its mean and ``*_mcse``: ``coverage``, ``reject_rate``, ``bias``,
        ``rmse`` (delta method), ``rho``; for ``tau2`` also ``relative_bias``.
    """
    m = moments.copy()
    mean = m["total"] / m["n"]
    spread = m["total_sq"] - 2 * mean * m["cross"] + mean**2 * m["n_sq"]
    reps = m["replications"]
    m["mean"] = mean
    m["mcse"] = np.sqrt(np.maximum(spread, 0) * reps / np.maximum(reps - 1, 1)) / m["n"]
    wide = m.pivot_table(
        index=KEYS[:5], columns="quantity", values=["mean", "mcse"], aggfunc="first"
    )
    out = m.groupby(KEYS[:5], as_index=False, sort=False)[["replications", "n"]].max()
    out = out.set_index(KEYS[:5])
    names = {"covered": "coverage", "reject": "reject_rate", "error": "bias", "rho": "rho"}
    for quantity, name in names.items():
        if ("mean", quantity) in wide:
            out[name] = wide[("mean", quantity)]
            out[f"{name}_mcse"] = wide[("mcse", quantity)]
    if ("mean", "error_sq") in wide:
        out["rmse"] = np.sqrt(wide[("mean", "error_sq")])
        out["rmse_mcse"] = wide[("mcse", "error_sq")] / (2 * out["rmse"])
    if ("mean", "truth") in wide:
        out["relative_bias"] = out["bias"] / wide[("mean", "truth")]
    return out.reset_index()


def _verdict(estimates, mcses, bands) -> str:
    outside = clearly = False
    for value, mcse, (low, high) in zip(estimates, mcses, bands, strict=True):
        if not np.isfinite(value):
            return "undetermined"
        outside |= not low <= value <= high
        clearly |= value + 2 * mcse < low or value - 2 * mcse > high
    if clearly or (outside and max(mcses) <= RULE["max_mcse"]):
        return "not calibrated"
    if max(mcses) > RULE["max_mcse"]:
        return "undetermined"
    return "calibrated"


def calibration(summary: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Per analysis (level, trend, variation), scenario and method, judged by :data:`RULE`.

    Returns
    -------
    pandas.DataFrame
        ``analysis``, ``scenario``, ``method``, ``n``, ``coverage`` and ``coverage_mcse``
        (all organisations), ``type1`` and ``type1_mcse`` (organisations with no designed
        effect), ``power`` and ``power_mcse`` (with one), ``error`` (the larger distance of
        coverage and type-I error from nominal, the ranking's measure) and ``verdict``.
    """
    judged = summary["analysis"].isin(["level", "trend", "variation"])
    pooled = summary[(summary["size"] == 0) & judged]
    rows = []
    nominal = 1 - alpha
    bands = [(nominal - 0.01, nominal + 0.01), (alpha - 0.01, alpha + 0.01)]
    for (analysis, scenario, method), part in pooled.groupby(
        ["analysis", "scenario", "method"], sort=False
    ):
        get = part.set_index("effect")
        if analysis == "variation":
            row = get.loc["all"]
            rate, mcse = row["reject_rate"], row["reject_rate_mcse"]
            verdict = _verdict([rate], [mcse], bands[1:])
            rows.append({"analysis": analysis, "scenario": scenario, "method": method,
                         "n": int(row["n"]), "type1": rate, "type1_mcse": mcse,
                         "error": abs(rate - alpha), "verdict": verdict})  # fmt: skip
            continue
        every, null = get.loc["all"], get.loc["null"] if "null" in get.index else None
        effect = get.loc["non-null"] if "non-null" in get.index else None
        coverage, cov_mcse = every["coverage"], every["coverage_mcse"]
        type1 = null["reject_rate"] if null is not None else np.nan
        t1_mcse = null["reject_rate_mcse"] if null is not None else np.nan
        rows.append(
            {
                "analysis": analysis,
                "scenario": scenario,
                "method": method,
                "n": int(every["n"]),
                "coverage": coverage,
                "coverage_mcse": cov_mcse,
                "type1": type1,
                "type1_mcse": t1_mcse,
                "power": effect["reject_rate"] if effect is not None else np.nan,
                "power_mcse": effect["reject_rate_mcse"] if effect is not None else np.nan,
                "error": max(abs(coverage - nominal), abs(type1 - alpha)),
                "verdict": _verdict([coverage, type1], [cov_mcse, t1_mcse], bands),
            }
        )
    return pd.DataFrame(rows)


PUBLISHED = {
    "level": "winsorised",
    "trend": "pooled, normal",
    "variation": "cv",
    "score": "z",
}
"""The method each analysis used as published (Nuffield Trust 2016 as reproduced here)."""
PREFERENCE = {
    "level": ["dl", "reml", "dl_within", "winsorised_rescaled", "winsorised", "multiplicative",
              "none"],
    "trend": ["practice_fe, t", "stable, t", "pooled, t", "practice_fe, normal",
              "stable, normal", "pooled, normal"],
    "variation": ["tau2_link", "cv"],
    "score": ["effect", "z"],
}  # fmt: skip
"""Tie-break among equally ranked methods: the simpler or more usual first."""


def _options(analysis: str, method: str) -> str:
    """The quality-indicator notebook's parameter values that select ``method``."""
    if analysis == "level":
        if method in ("none", "multiplicative"):
            return f"overdispersion = {method}"
        return f"overdispersion = additive, tau2_method = {method}"
    if analysis == "trend":
        model, reference = method.split(", ")
        members = "stable" if model == "stable" else "all"
        model = "pooled" if model == "stable" else model
        return f"trend_model = {model}, trend_members = {members}, trend_reference = {reference}"
    return f"{'variation_measure' if analysis == 'variation' else 'score'} = {method}"


def method_choices(calibration_table: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """The method each analysis should use by default, and the scenario that decided it.

    Methods are ranked by the number of scenarios in which they are calibrated (most first),
    then by their worst ``error`` over the scenarios (smallest first), then by
    :data:`PREFERENCE`; scores by their worst absolute mean correlation with size.
    ``decided_by`` is the scenario in which the runner-up falls furthest behind the chosen
    method, ``against_published`` the one in which the published method does.

    Returns
    -------
    pandas.DataFrame
        ``analysis``, ``chosen``, ``options`` (the notebook parameters), ``calibrated_in``
        (scenarios), ``scenarios``, ``worst_error``, ``worst_scenario``, ``runner_up``,
        ``decided_by``, ``published``, ``against_published``.
    """
    tables = {a: g for a, g in calibration_table.groupby("analysis", sort=False)}
    score = summary[(summary["analysis"] == "score") & (summary["effect"] == "non-null")]
    tables["score"] = score.assign(
        error=score["rho"].abs(), verdict=np.where(score["rho"].abs() <= RULE["rho"],
                                                   "calibrated", "not calibrated"))  # fmt: skip
    rows = []
    for analysis in ("level", "trend", "variation", "score"):
        table = tables[analysis]
        error = table.pivot(index="scenario", columns="method", values="error")
        good = table.assign(ok=table["verdict"] == "calibrated").pivot(
            index="scenario", columns="method", values="ok"
        )
        ranked = sorted(
            error.columns,
            key=lambda m: (-int(good[m].sum()), float(error[m].max()),
                           PREFERENCE[analysis].index(m)),
        )  # fmt: skip
        chosen, runner, published = ranked[0], ranked[1], PUBLISHED[analysis]
        rows.append(
            {
                "analysis": analysis,
                "chosen": chosen,
                "options": _options(analysis, chosen),
                "calibrated_in": int(good[chosen].sum()),
                "scenarios": len(error),
                "worst_error": float(error[chosen].max()),
                "worst_scenario": str(error[chosen].idxmax()),
                "runner_up": runner,
                "decided_by": str((error[runner] - error[chosen]).idxmax()),
                "published": published,
                "against_published": str((error[published] - error[chosen]).idxmax())
                if published != chosen
                else "",
            }
        )
    return pd.DataFrame(rows)


@responsive
def calibration_figure(
    calibration_table: pd.DataFrame, *, alpha: float = 0.05, width: float = WIDE
):
    """Coverage and type-I error per method and scenario, +/- 2 clustered MC errors: the two
    measures side by side at the book column's ``width`` (inches), one above the other on a
    phone, methods numbered with a key there."""
    import matplotlib.pyplot as plt

    from analysis.core.figures import category_labels, place_legend

    analyses = [a for a in ("level", "trend") if a in set(calibration_table["analysis"])]
    narrow = is_narrow(width)
    measures = (
        ("coverage", "coverage_mcse", 1 - alpha, "coverage of the 95% interval"),
        ("type1", "type1_mcse", alpha, "type-I error"),
    )
    methods_all = list(dict.fromkeys(calibration_table["method"]))
    rows = len(analyses) * (2 if narrow else 1)
    panel = 0.32 * len(methods_all) + 1.4
    fig, axes = plt.subplots(
        rows,
        1 if narrow else 2,
        figsize=(width, panel * rows + 2.0 + key_height(methods_all, width)),
        squeeze=False,
        layout="constrained",
    )
    scenarios = list(dict.fromkeys(calibration_table["scenario"]))
    colours = plt.get_cmap("tab10")
    panels = [(a, m) for a in analyses for m in measures]
    for index, (analysis, (value, mcse, nominal, label)) in enumerate(panels):
        ax = axes.flat[index]
        table = calibration_table[calibration_table["analysis"] == analysis]
        methods = list(dict.fromkeys(table["method"]))
        for k, scenario in enumerate(scenarios):
            part = table[table["scenario"] == scenario].set_index("method").reindex(methods)
            y = np.arange(len(methods)) + (k - len(scenarios) / 2) * 0.1
            ax.errorbar(part[value], y, xerr=2 * part[mcse], fmt="o", ms=3, capsize=2,
                        color=colours(k), label=scenario if index == 0 else None)  # fmt: skip
        band = 0.01
        ax.axvspan(nominal - band, nominal + band, color="#cccccc", alpha=0.5, lw=0)
        ax.axvline(nominal, color="#b00020", linestyle="--", linewidth=1)
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(plt.MaxNLocator(3))
        ax.set_title(wrap(f"{analysis}: {label}", width if narrow else width / 2))
        if narrow or index % 2 == 0:
            category_labels(ax, np.arange(len(methods)), [m.replace("_", " ") for m in methods],
                            width=width)  # fmt: skip
        else:
            ax.set_yticks(np.arange(len(methods)), [""] * len(methods))
    handles, labels = axes.flat[0].get_legend_handles_labels()
    place_legend(fig, axes.flat[0], handles, labels, width=width)
    return fig


def scenario_table(moments: pd.DataFrame) -> pd.DataFrame:
    """The scenarios as run: description, practices, organisations, sizes, replications."""
    whole = (moments["analysis"] == "level") & (moments["size"] == 0)
    ran = moments[whole & (moments["effect"] == "all")].groupby("scenario")["replications"].max()
    rows = []
    for item in sd.SCENARIOS:
        if item.name not in ran.index:
            continue
        plan = sd.design(item)
        rows.append(
            {
                "scenario": item.name,
                "description": item.description,
                "practices": plan.practices,
                "organisations": plan.organisations,
                "sizes": ", ".join(str(s) for s in sorted(set(plan.org_size))),
                "replications": int(ran[item.name]),
            }
        )
    return pd.DataFrame(rows)


def overview(scenarios: pd.DataFrame, calibration_table: pd.DataFrame) -> pd.DataFrame:
    """Numbers the chapter's text states: replications, scenarios and the Monte-Carlo errors.

    Returns ``item``, ``value``: ``replications`` (the fewest of any scenario),
    ``scenarios``, ``rows`` (of the calibration table), ``max_mcse`` (its largest clustered
    standard error of a coverage or type-I error), ``rows_over`` (rows with one above
    :data:`RULE`'s bound) and ``undetermined`` (verdicts the errors leave open).
    """
    mcse = calibration_table[["coverage_mcse", "type1_mcse"]].max(axis=1)
    values = {
        "replications": int(scenarios["replications"].min()),
        "scenarios": len(scenarios),
        "rows": len(calibration_table),
        "max_mcse": float(mcse.max()),
        "rows_over": int((mcse > RULE["max_mcse"]).sum()),
        "undetermined": int((calibration_table["verdict"] == "undetermined").sum()),
    }
    return pd.DataFrame({"item": list(values), "value": list(values.values())})


def chapter_tables(moments: pd.DataFrame, *, alpha: float = 0.05) -> dict[str, pd.DataFrame]:
    """Every table of the simulation chapter, by output name (``tables/<name>.csv``)."""
    summary = summarise(moments)
    table = calibration(summary, alpha=alpha)
    scenarios = scenario_table(moments)
    return {
        "simulation_scenarios": scenarios,
        "simulation_summary": summary,
        "simulation_calibration": table,
        "simulation_choices": method_choices(table, summary),
        "simulation_overview": overview(scenarios, table),
    }


_NAMES = {
    "level": "Level test against England",
    "trend": "Trend against the rest of England",
    "variation": "Variation between member practices",
    "score": "Performance score",
}


def chapter_sentences(tables: dict[str, pd.DataFrame]) -> Sentences:
    """The chapter's result sentences, each number cited from ``tables``."""
    said = Sentences(tables)

    def over(item: str, spec: str = "") -> object:
        return said.cite("simulation_overview", "value", item=item, format=spec)

    said.add(
        "replications",
        "{replications} replications of each of the {scenarios} scenarios stand behind every "
        "number below. The largest clustered Monte-Carlo standard error of a coverage or type-I "
        "error in the calibration table is {max_mcse}. Rows with an error above the rule's "
        "bound: {rows_over} of {rows}; verdicts the errors leave undetermined: {undetermined}.",
        replications=over("replications"),
        scenarios=over("scenarios"),
        max_mcse=over("max_mcse", ".4f"),
        rows_over=over("rows_over"),
        rows=over("rows"),
        undetermined=over("undetermined"),
    )
    for analysis in tables["simulation_choices"]["analysis"]:

        def cell(column: str, spec: str = "", analysis=analysis) -> object:
            return said.cite("simulation_choices", column, analysis=analysis, format=spec)

        good = "size-neutral" if analysis == "score" else "calibrated"
        worst = "largest mean correlation with size" if analysis == "score" else (
            "worst distance from nominal")  # fmt: skip
        chosen, runner, published = cell("chosen"), cell("runner_up"), cell("published")
        fields = {"chosen": chosen, "runner_up": runner, "decided_by": cell("decided_by")}
        if str(published) == str(chosen):
            tail = "The runner-up, `{runner_up}`, falls furthest behind in `{decided_by}`; the " \
                   "chosen method is the one published."  # fmt: skip
        elif str(published) == str(runner):
            tail = "The runner-up, `{runner_up}` (the method as published), falls furthest " \
                   "behind in `{decided_by}`."  # fmt: skip
        else:
            tail = "The runner-up, `{runner_up}`, falls furthest behind in `{decided_by}`; " \
                   "the published `{published}`, in `{against_published}`."  # fmt: skip
            fields.update(published=published, against_published=cell("against_published"))
        said.add(
            f"choice_{analysis}",
            _NAMES[analysis] + ": `{chosen}` is " + good + " in {calibrated_in} of {scenarios} "
            "scenarios, its " + worst + " {worst_error} (in `{worst_scenario}`). " + tail,
            calibrated_in=cell("calibrated_in"),
            scenarios=cell("scenarios"),
            worst_error=cell("worst_error", ".3f"),
            worst_scenario=cell("worst_scenario"),
            **fields,
        )
    return said


def by_size(summary: pd.DataFrame, analysis: str, methods: list[str]) -> pd.DataFrame:
    """Type-I error of ``methods`` by organisation size (rows) and scenario (columns)."""
    null = summary[(summary["analysis"] == analysis) & (summary["effect"] == "0")
                   & summary["method"].isin(methods) & (summary["size"] > 0)]  # fmt: skip
    wide = null.pivot_table(index=["method", "size"], columns="scenario", values="reject_rate")
    order = [s.name for s in sd.SCENARIOS if s.name in wide.columns]
    return wide[order].reset_index()
