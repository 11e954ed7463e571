"""The Nuffield case-study organisations (Rosen et al. 2016, Table 2) and the spectrum of forms.

Table 2 of the Nuffield summary is kept one row per list item; it is laid out as a second
matrix (attributes x organisations), the number of member practices is parsed by year,
and each organisation is placed on the loose-to-tight spectrum of organisational forms
that McDonald et al. (2020) summarise in their Appendix 2.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from pandera.pandas import Check as PaCheck
from pandera.pandas import Column, DataFrameSchema

from analysis.casestudy.sources import MAX_EXCERPT, data_path, provenance_columns
from analysis.core.datasets import read_table
from analysis.core.layout import WIDE, is_narrow, responsive, wrap

NUFFIELD_ORGS = ("AT Medics", "GP Care", "Harness Healthcare", "Modality Partnership")
NUFFIELD_ATTRIBUTES = (
    "organisational_form",
    "founding_aims",
    "year_founded",
    "location",
    "legal_form",
    "practices",
    "list_size",
    "contracts",
)
NUFFIELD_SCHEMA = DataFrameSchema(
    {
        "organisation": Column(str, PaCheck.isin(NUFFIELD_ORGS)),
        "attribute": Column(str, PaCheck.isin(NUFFIELD_ATTRIBUTES)),
        "item": Column(int, PaCheck.ge(1)),
        "value": Column(str),
        **provenance_columns(),
    },
    strict=True,
)
FORMS = ("network", "federation", "super-partnership", "multisite")
FORMS_SCHEMA = DataFrameSchema(
    {
        "form": Column(str, PaCheck.isin(FORMS)),
        "tightness": Column(int, PaCheck.in_range(1, len(FORMS))),
        "excerpt": Column(str, PaCheck.str_length(min_value=3, max_value=MAX_EXCERPT)),
        **provenance_columns(),
    },
    strict=True,
)


def read_nuffield(path: Path | None = None) -> pd.DataFrame:
    """Table 2 of the Nuffield summary, one row per list item."""
    return read_table(
        path or data_path("nuffield"), NUFFIELD_SCHEMA, unique=["organisation", "attribute", "item"]
    )


def read_forms(path: Path | None = None) -> pd.DataFrame:
    """The spectrum of organisational forms from loose to tight ties."""
    return read_table(path or data_path("forms"), FORMS_SCHEMA, unique=["form"])


def nuffield_matrix(nuffield: pd.DataFrame) -> pd.DataFrame:
    """Nuffield Table 2 as attributes x organisations, list items joined with ``; ``."""
    items = nuffield.sort_values(["organisation", "attribute", "item"])
    joined = items.groupby(["attribute", "organisation"])["value"].agg("; ".join).unstack()
    joined = joined.reindex(index=list(NUFFIELD_ATTRIBUTES), columns=list(NUFFIELD_ORGS))
    joined.columns.name = None
    return joined.reset_index()


_PRACTICES = re.compile(r"^\s*(\d+)\s*\(([^)]*)\)\s*$")


def nuffield_practices(nuffield: pd.DataFrame) -> pd.DataFrame:
    """Number of practices by year, parsed from items such as ``"21 (2014 and April 2016)"``.

    Raises
    ------
    ValueError
        When an item does not read as a count followed by years in brackets.
    """
    rows = []
    items = nuffield[nuffield["attribute"] == "practices"]
    for _, item in items.iterrows():
        match = _PRACTICES.match(item["value"])
        years = re.findall(r"\b(19\d\d|20\d\d)\b", match.group(2)) if match else []
        if not years:
            raise ValueError(
                f"{item['organisation']}: practices item {item['value']!r} is not 'N (YEAR)'"
            )
        for year in years:
            rows.append(
                {
                    "organisation": item["organisation"],
                    "year": int(year),
                    "practices": int(match.group(1)),
                }
            )
    return pd.DataFrame(rows).sort_values(["organisation", "year"]).reset_index(drop=True)


def nuffield_forms(nuffield: pd.DataFrame, forms: pd.DataFrame) -> pd.DataFrame:
    """Each Nuffield organisation placed on the loose-to-tight spectrum of forms."""
    text = nuffield[nuffield["attribute"] == "organisational_form"].set_index("organisation")
    keys = {"super-partnership": "super-partnership", "multi-site": "multisite"}
    rows = []
    for org in NUFFIELD_ORGS:
        phrase = text.loc[org, "value"].lower()
        form = next((v for k, v in keys.items() if k in phrase), None)
        form = form or next((f for f in ("federation", "network") if f in phrase), None)
        if form is None:
            raise ValueError(f"{org}: cannot read an organisational form from {phrase!r}")
        rows.append({"organisation": org, "form": form, "described_as": text.loc[org, "value"]})
    out = pd.DataFrame(rows).merge(forms[["form", "tightness"]], on="form", how="left")
    return out.sort_values(["tightness", "organisation"]).reset_index(drop=True)


@responsive
def plot_nuffield(
    practices: pd.DataFrame, placed: pd.DataFrame, *, width: float = WIDE
) -> plt.Figure:
    """Number of member practices over time for the four Nuffield organisations."""
    narrow = is_narrow(width)
    fig, ax = plt.subplots(figsize=(width, 4.4 + (1.6 if narrow else 0)), layout="constrained")
    form = placed.set_index("organisation")["form"]
    for org, rows in practices.groupby("organisation", sort=True):
        ax.plot(rows["year"], rows["practices"], marker="o", label=f"{org} ({form[org]})")
    ax.set_yscale("log")
    ax.set_xlabel("year")
    ax.set_ylabel("member practices (log scale)")
    if narrow:
        handles, labels = ax.get_legend_handles_labels()
        labels = [wrap(label, width * 0.8) for label in labels]
        fig.legend(handles, labels, loc="outside lower center", ncol=1, frameon=False)
    else:
        ax.legend(frameon=False)
    ax.xaxis.set_major_locator(plt.MaxNLocator(4, integer=True))
    return fig
