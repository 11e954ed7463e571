"""The case-study strand: four GP federations (McDonald et al. 2020) and the Nuffield sites.

The evidence is kept the way qualitative researchers keep a framework matrix
(Gale et al. 2013): one row per (site, theme) judgement with an ordinal or
categorical ``code`` on a documented scale (``codebook.csv``), a one-line summary,
a short verbatim excerpt and the source lines it came from. Everything else is
computed from those codes:

- the framework matrix (sites x themes) and its heatmap, under a chosen
  code-to-score map;
- the typology of central-authority styles (control over members x system
  proactivity, thresholds as parameters), checked against the published
  classification;
- crisp sets for the cross-case truth table (:mod:`analysis.casestudy.qca`);
- Tables 1 to 3 and 7 of the report with their totals recomputed, and Table 2
  of the Nuffield summary as a second matrix.

Reading functions are the only ones that touch files; the rest take and return
DataFrames (or figures).
"""

from __future__ import annotations

import ast
import math
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from pandera.pandas import Check as PaCheck
from pandera.pandas import Column, DataFrameSchema

from analysis.core.datasets import DataError, file_line, read_table
from analysis.core.reproduction import Check, check, check_from
from analysis.paths import data_dir

STRAND = "casestudy"
MCDONALD = "000_088f6aeed890f33a.txt"
NUFFIELD = "002_d1de2aebef7660af.txt"
SOURCES = (MCDONALD, NUFFIELD)
SITES = ("Expanding", "Embedded", "Struggling", "Small")
GROUPS = ("driver", "leadership_aspect", "interdependence_activity", "outcome", "typology")
DIMENSIONS = ("control_over_members", "system_proactivity")
OUTCOMES = ("iagp_outcome", "financial_stability")
STYLES = {
    (True, True): "authoritative",
    (False, True): "indulgent",
    (False, False): "neglectful",
    (True, False): "authoritarian",
}
STYLE_COLOURS = {
    "authoritative": "#0072B2",
    "indulgent": "#009E73",
    "neglectful": "#D55E00",
    "authoritarian": "#CC79A7",
}
MAX_EXCERPT = 200
NAMED_MAPS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "convex": lambda x: x**2,
    "concave": np.sqrt,
}
FILES = {
    "themes": "casestudy/coded/themes.csv",
    "codebook": "casestudy/coded/codebook.csv",
    "evidence": "casestudy/coded/evidence.csv",
    "table1": "casestudy/published/mcdonald_table1_meetings.csv",
    "table2": "casestudy/published/mcdonald_table2_interviews.csv",
    "table3": "casestudy/published/mcdonald_table3_characteristics.csv",
    "table7": "casestudy/published/mcdonald_table7_services.csv",
    "typology": "casestudy/published/mcdonald_typology.csv",
    "nuffield": "casestudy/published/nuffield_table2_organisations.csv",
    "forms": "casestudy/published/nuffield_forms_spectrum.csv",
}

# --------------------------------------------------------------------------- schemas

_NAME = r"^[a-z][a-z0-9_]*$"
_LINES = r"^\d+(-\d+)?$"


def _provenance(note: bool = True) -> dict[str, Column]:
    columns = {
        "source_file": Column(str, PaCheck.isin(SOURCES)),
        "source_lines": Column(str, PaCheck.str_matches(_LINES)),
        "source_location": Column(str),
    }
    if note:
        columns["note"] = Column(str, nullable=True)
    return columns


THEMES_SCHEMA = DataFrameSchema(
    {
        "theme": Column(str, PaCheck.str_matches(_NAME)),
        "group": Column(str, PaCheck.isin(GROUPS)),
        "label": Column(str),
        "definition": Column(str),
        **_provenance(note=False),
    },
    strict=True,
)
CODEBOOK_SCHEMA = DataFrameSchema(
    {
        "theme": Column(str, PaCheck.str_matches(_NAME)),
        "code": Column(str, PaCheck.str_matches(_NAME)),
        "rank": Column(int, PaCheck.ge(0), nullable=True),
        "meaning": Column(str),
    },
    strict=True,
)
EVIDENCE_SCHEMA = DataFrameSchema(
    {
        "site": Column(str, PaCheck.isin(SITES)),
        "theme": Column(str, PaCheck.str_matches(_NAME)),
        "code": Column(str, PaCheck.str_matches(_NAME)),
        "summary": Column(str),
        "excerpt": Column(str, PaCheck.str_length(min_value=3, max_value=MAX_EXCERPT)),
        **_provenance(),
    },
    strict=True,
)
TABLE1_SCHEMA = DataFrameSchema(
    {
        "site": Column(str, PaCheck.isin([*SITES, "All sites"])),
        "meeting_type": Column(
            str, PaCheck.isin(["Federation", "Federation services", "Practice", "Other", "Total"])
        ),
        "reported_in": Column(str, PaCheck.isin(["table", "text"])),
        "n": Column(int, PaCheck.ge(0), nullable=True),
        **_provenance(),
    },
    strict=True,
)
INTERVIEW_TYPES = ("Clinicians", "PMs", "Federation staff", "Patients", "CCG", "Other")
TABLE2_SCHEMA = DataFrameSchema(
    {
        "site": Column(str, PaCheck.isin([*SITES, "National perspectives", "All sites"])),
        "interviewee_type": Column(str, PaCheck.isin([*INTERVIEW_TYPES, "Total"])),
        "reported_in": Column(str, PaCheck.isin(["table", "text"])),
        "n": Column(int, PaCheck.ge(0)),
        **_provenance(),
    },
    strict=True,
)
TABLE3_SCHEMA = DataFrameSchema(
    {
        "characteristic": Column(str),
        "site": Column(str, PaCheck.isin(SITES)),
        "value": Column(str),
        **_provenance(),
    },
    strict=True,
)
TABLE7_SCHEMA = DataFrameSchema(
    {
        "site": Column(str, PaCheck.isin(SITES)),
        "item": Column(int, PaCheck.ge(1)),
        "service": Column(str, nullable=True),
        **_provenance(),
    },
    strict=True,
)
TYPOLOGY_SCHEMA = DataFrameSchema(
    {
        "site": Column(str, PaCheck.isin(SITES)),
        "style": Column(str, PaCheck.isin(sorted(set(STYLES.values())))),
        "control": Column(str, PaCheck.isin(["high", "low"])),
        "system_proactivity": Column(str, PaCheck.isin(["high", "low"])),
        "excerpt": Column(str, PaCheck.str_length(min_value=3, max_value=MAX_EXCERPT)),
        **_provenance(),
    },
    strict=True,
)
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
        **_provenance(),
    },
    strict=True,
)
FORMS = ("network", "federation", "super-partnership", "multisite")
FORMS_SCHEMA = DataFrameSchema(
    {
        "form": Column(str, PaCheck.isin(FORMS)),
        "tightness": Column(int, PaCheck.in_range(1, len(FORMS))),
        "excerpt": Column(str, PaCheck.str_length(min_value=3, max_value=MAX_EXCERPT)),
        **_provenance(),
    },
    strict=True,
)

# --------------------------------------------------------------------------- reading


def data_path(name: str) -> Path:
    """The data file called ``name`` in :data:`FILES` (for example ``"evidence"``)."""
    if name not in FILES:
        raise KeyError(f"unknown case-study data file {name!r}; expected one of {sorted(FILES)}")
    return data_dir() / FILES[name]


def _problems(path: Path, items: list[str]) -> DataError:
    shown = "\n".join(f"  {item}" for item in items[:10])
    more = f"\n  ... and {len(items) - 10} more" if len(items) > 10 else ""
    return DataError(f"{path}: {len(items)} problem(s):\n{shown}{more}")


def _at(index: int, column: str, message: str) -> str:
    return f"line {file_line(index)}, column {column!r}: {message}"


def _no_newlines(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    problems = []
    for column in columns:
        bad = frame[column].fillna("").str.contains(r"[\r\n]", regex=True)
        problems += [_at(i, column, "contains a line break") for i in frame.index[bad]]
    return problems


def _lost_cells_need_note(frame: pd.DataFrame, value: str) -> list[str]:
    bad = frame[value].isna() & frame["note"].isna()
    return [
        _at(i, value, "missing value without a note saying why (lost cell?)")
        for i in frame.index[bad]
    ]


def check_codebook(codebook: pd.DataFrame, themes: pd.DataFrame, path: Path) -> None:
    """Every code belongs to a known theme; ordinal ranks run 0, 1, ... without gaps.

    Raises
    ------
    DataError
        Naming the file, line and column of each problem.
    """
    known = set(themes["theme"])
    problems = [
        _at(i, "theme", f"{t!r} is not a theme in themes.csv")
        for i, t in codebook["theme"].items()
        if t not in known
    ]
    for theme, rows in codebook.groupby("theme", sort=False):
        ranks = rows["rank"].dropna().astype(int).tolist()
        if sorted(ranks) != list(range(len(ranks))) or len(ranks) < 2:
            problems.append(
                _at(
                    rows.index[0],
                    "rank",
                    f"theme {theme!r} has ranks {sorted(ranks)}; expected 0, 1, ... (at least two)",
                )
            )
    missing = sorted(known - set(codebook["theme"]))
    problems += [f"theme {t!r} has no codes" for t in missing]
    if problems:
        raise _problems(path, problems)


def check_evidence(
    evidence: pd.DataFrame, codebook: pd.DataFrame, themes: pd.DataFrame, path: Path
) -> None:
    """Each code is on its theme's scale and every site has a judgement on every theme.

    Raises
    ------
    DataError
        Naming the file, line and column of each problem (unknown theme, code outside
        its scale, line breaks in a cell) or the missing (site, theme) pairs.
    """
    scales = codebook.groupby("theme")["code"].apply(list).to_dict()
    problems = _no_newlines(evidence, ["summary", "excerpt", "note"])
    for i, row in evidence.iterrows():
        if row["theme"] not in scales:
            problems.append(_at(i, "theme", f"unknown theme {row['theme']!r}"))
        elif row["code"] not in scales[row["theme"]]:
            allowed = scales[row["theme"]]
            problems.append(
                _at(i, "code", f"{row['code']!r} is not on the {row['theme']!r} scale {allowed}")
            )
    present = set(zip(evidence["site"], evidence["theme"], strict=True))
    missing = [(s, t) for t in themes["theme"] for s in SITES if (s, t) not in present]
    if missing:
        problems.append(
            f"no judgement for (site, theme) {missing[:6]}{' ...' * (len(missing) > 6)}"
        )
    if problems:
        raise _problems(path, problems)


def read_themes(path: Path | None = None) -> pd.DataFrame:
    """The themes of the framework matrix, in display order."""
    return read_table(path or data_path("themes"), THEMES_SCHEMA, unique=["theme"])


def read_codebook(path: Path | None = None, themes: pd.DataFrame | None = None) -> pd.DataFrame:
    """The documented scale of every theme, checked against the themes."""
    path = path or data_path("codebook")
    codebook = read_table(path, CODEBOOK_SCHEMA, unique=["theme", "code"])
    check_codebook(codebook, read_themes() if themes is None else themes, path)
    return codebook


def read_evidence(
    path: Path | None = None,
    codebook: pd.DataFrame | None = None,
    themes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The coded evidence, checked against the codebook: one row per (site, theme)."""
    path = path or data_path("evidence")
    themes = read_themes() if themes is None else themes
    codebook = read_codebook(themes=themes) if codebook is None else codebook
    evidence = read_table(path, EVIDENCE_SCHEMA, unique=["site", "theme"])
    check_evidence(evidence, codebook, themes, path)
    return evidence


def _read_with_lost_cells(name: str, schema, unique, value: str, path: Path | None):
    path = path or data_path(name)
    frame = read_table(path, schema, unique=unique)
    problems = _lost_cells_need_note(frame, value) + _no_newlines(frame, ["note"])
    if problems:
        raise _problems(path, problems)
    return frame


def read_table1(path: Path | None = None) -> pd.DataFrame:
    """Table 1 (meetings observed); lost cells are rows with no ``n`` and a note."""
    return _read_with_lost_cells(
        "table1", TABLE1_SCHEMA, ["site", "meeting_type", "reported_in"], "n", path
    )


def read_table2(path: Path | None = None) -> pd.DataFrame:
    """Table 2 (interviews by type and site) and the text's total."""
    return _read_with_lost_cells(
        "table2", TABLE2_SCHEMA, ["site", "interviewee_type", "reported_in"], "n", path
    )


def read_table3(path: Path | None = None) -> pd.DataFrame:
    """Table 3 (site characteristics) as published text."""
    return read_table(path or data_path("table3"), TABLE3_SCHEMA, unique=["characteristic", "site"])


def read_table7(path: Path | None = None) -> pd.DataFrame:
    """Table 7 (services won); lost cells are rows with no ``service`` and a note."""
    return _read_with_lost_cells("table7", TABLE7_SCHEMA, ["site", "item"], "service", path)


def read_published_typology(path: Path | None = None) -> pd.DataFrame:
    """The published classification of the four sites (Chapter 6)."""
    return read_table(path or data_path("typology"), TYPOLOGY_SCHEMA, unique=["site"])


def read_nuffield(path: Path | None = None) -> pd.DataFrame:
    """Table 2 of the Nuffield summary, one row per list item."""
    return read_table(
        path or data_path("nuffield"), NUFFIELD_SCHEMA, unique=["organisation", "attribute", "item"]
    )


def read_forms(path: Path | None = None) -> pd.DataFrame:
    """The spectrum of organisational forms from loose to tight ties."""
    return read_table(path or data_path("forms"), FORMS_SCHEMA, unique=["form"])


@dataclass(frozen=True)
class CaseStudyData:
    """Every input of the strand, read and checked."""

    themes: pd.DataFrame
    codebook: pd.DataFrame
    evidence: pd.DataFrame
    table1: pd.DataFrame
    table2: pd.DataFrame
    table3: pd.DataFrame
    table7: pd.DataFrame
    typology: pd.DataFrame
    nuffield: pd.DataFrame
    forms: pd.DataFrame


def load() -> CaseStudyData:
    """Read and check every case-study data file."""
    themes = read_themes()
    codebook = read_codebook(themes=themes)
    return CaseStudyData(
        themes=themes,
        codebook=codebook,
        evidence=read_evidence(codebook=codebook, themes=themes),
        table1=read_table1(),
        table2=read_table2(),
        table3=read_table3(),
        table7=read_table7(),
        typology=read_published_typology(),
        nuffield=read_nuffield(),
        forms=read_forms(),
    )


# --------------------------------------------------------------------------- parameters


def check_choices(parameter: str, values: Sequence[str], allowed: Sequence[str]) -> list[str]:
    """Validate a list parameter against its allowed values; return it as a list.

    Raises
    ------
    ValueError
        Naming the parameter, the offending values and what is allowed.
    """
    if isinstance(values, str):
        raise ValueError(f"{parameter}: expected a list of names, got the string {values!r}")
    values = list(values)
    if not values:
        raise ValueError(f"{parameter}: empty; choose from {list(allowed)}")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(
            f"{parameter}: unknown value(s) {unknown}; expected any of {list(allowed)}"
        )
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        raise ValueError(f"{parameter}: {dupes} given more than once")
    return values


def check_threshold(parameter: str, value: float) -> float:
    """A threshold on the 0-1 score scale."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{parameter}: expected a number in [0, 1], got {value!r}")
    if not 0 <= value <= 1:
        raise ValueError(f"{parameter}: {value} is outside [0, 1] (scores run from 0 to 1)")
    return float(value)


def _scoring_overrides(spec: str) -> tuple[str, dict]:
    try:
        raw = ast.literal_eval(spec)
    except (ValueError, SyntaxError):
        raw = None
    if not isinstance(raw, dict):
        raise ValueError(
            f"scoring_map: {spec!r} is neither a named map {sorted(NAMED_MAPS)} nor a dict "
            "such as {'base': 'linear', 'system_proactivity:reactive': 0.4}"
        )
    raw = dict(raw)
    base = raw.pop("base", "linear")
    if base not in NAMED_MAPS:
        raise ValueError(f"scoring_map: base {base!r} is not one of {sorted(NAMED_MAPS)}")
    return base, raw


def parse_scoring_map(spec: str, codebook: pd.DataFrame) -> pd.DataFrame:
    """The score of every code under a named map, optionally with per-code overrides.

    Parameters
    ----------
    spec
        ``"linear"`` (rank / top rank), ``"convex"`` ((rank / top rank) squared: only
        the top of a scale scores high) or ``"concave"`` (square root: lenient); or a
        dict-like string ``"{'base': 'linear', 'theme:code': 0.4, ...}"`` overriding
        single codes with scores in [0, 1]. Codes off the ordinal scale (rank missing)
        score NaN unless overridden.
    codebook
        The theme scales.

    Returns
    -------
    pandas.DataFrame
        ``theme, code, rank, score`` for every code.

    Raises
    ------
    ValueError
        Naming ``scoring_map`` and the bad key or value.
    """
    if not isinstance(spec, str):
        raise ValueError(f"scoring_map: expected a string, got {spec!r}")
    text = spec.strip()
    base, overrides = (text, {}) if text in NAMED_MAPS else _scoring_overrides(text)
    table = codebook[["theme", "code", "rank"]].copy()
    table["rank"] = pd.to_numeric(table["rank"], errors="coerce").astype("Int64")
    rank = table["rank"].to_numpy(dtype=float, na_value=np.nan)
    top = table.groupby("theme")["rank"].transform("max").to_numpy(dtype=float, na_value=np.nan)
    table["score"] = NAMED_MAPS[base](rank / top)
    known = set(zip(table["theme"], table["code"], strict=True))
    for key, value in overrides.items():
        theme, sep, code = str(key).partition(":")
        if not sep or (theme, code) not in known:
            raise ValueError(f"scoring_map: {key!r} is not a 'theme:code' pair in the codebook")
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or not 0 <= value <= 1:
            raise ValueError(f"scoring_map: {key!r} = {value!r}; expected a number in [0, 1]")
        table.loc[(table["theme"] == theme) & (table["code"] == code), "score"] = float(value)
    return table.reset_index(drop=True)


def score(evidence: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """The evidence with each code's ``rank`` and ``score`` added."""
    return evidence.merge(scores, on=["theme", "code"], how="left", validate="many_to_one")


def select(
    evidence: pd.DataFrame, themes: pd.DataFrame, sites: Sequence[str], theme_names: Sequence[str]
) -> pd.DataFrame:
    """The rows for the chosen sites and themes, ordered as chosen (sites) and as catalogued.

    Raises
    ------
    ValueError
        Naming the ``sites`` or ``themes`` parameter when a value is unknown.
    """
    sites = check_choices("sites", sites, SITES)
    theme_names = check_choices("themes", theme_names, list(themes["theme"]))
    order = [t for t in themes["theme"] if t in theme_names]
    chosen = evidence[evidence["site"].isin(sites) & evidence["theme"].isin(order)].copy()
    chosen["site"] = pd.Categorical(chosen["site"], categories=sites, ordered=True)
    chosen["theme"] = pd.Categorical(chosen["theme"], categories=order, ordered=True)
    chosen = chosen.sort_values(["theme", "site"]).reset_index(drop=True)
    chosen["footnote"] = np.arange(1, len(chosen) + 1)
    chosen["site"] = chosen["site"].astype(str)
    chosen["theme"] = chosen["theme"].astype(str)
    return chosen


# --------------------------------------------------------------------------- framework matrix


def framework_matrix(selected: pd.DataFrame, themes: pd.DataFrame) -> pd.DataFrame:
    """Sites x themes as a table of summaries, each with its evidence footnote number.

    Parameters
    ----------
    selected
        Output of :func:`select` (has ``footnote``).
    themes
        The themes table (for labels and groups).

    Returns
    -------
    pandas.DataFrame
        One row per theme (``group``, ``theme``, ``label``) and one column per site.
    """
    cells = selected.assign(
        cell=selected["summary"] + " [" + selected["footnote"].astype(str) + "]"
    )
    wide = cells.pivot(index="theme", columns="site", values="cell")
    order = [t for t in themes["theme"] if t in wide.index]
    sites = list(dict.fromkeys(selected["site"]))
    wide = wide.loc[order, sites].reset_index()
    info = themes.set_index("theme").loc[order, ["group", "label"]].reset_index()
    out = info.merge(wide, on="theme")
    out.columns.name = None
    return out


def footnotes(selected: pd.DataFrame) -> pd.DataFrame:
    """The evidence behind each matrix cell, numbered as in :func:`framework_matrix`."""
    out = selected.assign(source=selected["source_file"] + ":" + selected["source_lines"])
    columns = ["footnote", "site", "theme", "code", "excerpt", "source", "source_location", "note"]
    return out[columns].reset_index(drop=True)


def plot_heatmap(selected: pd.DataFrame, themes: pd.DataFrame) -> plt.Figure:
    """Heatmap of the scored codes (themes x sites), each cell labelled with code and footnote."""
    order = [t for t in themes["theme"] if t in set(selected["theme"])]
    sites = list(dict.fromkeys(selected["site"]))
    scores = selected.pivot(index="theme", columns="site", values="score").loc[order, sites]
    labels = selected.assign(
        text=selected["code"].str.replace("_", " ").map(lambda c: textwrap.fill(c, 18))
        + " ["
        + selected["footnote"].astype(str)
        + "]"
    ).pivot(index="theme", columns="site", values="text")
    labels = labels.loc[order, sites]
    names = themes.set_index("theme").loc[order, "label"]
    fig, ax = plt.subplots(figsize=(2.0 + 2.2 * len(sites), 1.0 + 0.42 * len(order)))
    ax.set_facecolor("#d9d9d9")
    sns.heatmap(
        scores.astype(float),
        ax=ax,
        cmap="viridis",
        vmin=0,
        vmax=1,
        annot=labels.to_numpy(),
        fmt="",
        annot_kws={"fontsize": 6.5},
        linewidths=0.5,
        linecolor="white",
        cbar_kws={"label": "score (0 = bottom of the theme's scale, 1 = top)", "shrink": 0.5},
        yticklabels=list(names),
    )
    for r, c in zip(*np.where(scores.isna().to_numpy()), strict=True):
        ax.text(c + 0.5, r + 0.5, labels.iat[r, c], ha="center", va="center", fontsize=6.5)
    groups = themes.set_index("theme").loc[order, "group"].tolist()
    for row in range(1, len(order)):
        if groups[row] != groups[row - 1]:
            ax.axhline(row, color="black", linewidth=1.2)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.xaxis.tick_top()
    ax.set_title("Coded evidence by site (grey: code not on an ordered scale)", fontsize=9)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- Tables 1-3, 7


def _published(frame: pd.DataFrame, **where) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy()
    rows = frame[mask]
    if len(rows) != 1:
        raise DataError(f"expected exactly one row where {where}, found {len(rows)}")
    return rows.iloc[0]


def _check_against(check_id: str, quantity: str, row: pd.Series, reproduced) -> Check:
    return check_from(
        f"cs_{check_id}",
        row,
        strand=STRAND,
        quantity=quantity,
        published=int(row["n"]),
        reproduced=int(reproduced),
    )


def table1_checks(table1: pd.DataFrame) -> list[Check]:
    """Table 1: the 139 meetings recomputed from site totals and from meeting-type totals,
    and each site's total against the figure given in the text.

    The per-site, per-type cells were lost in the plain text, so row sums cannot be checked.
    """
    table = table1[table1["reported_in"] == "table"]
    sites = table[(table["site"] != "All sites") & (table["meeting_type"] == "Total")]
    types = table[(table["site"] == "All sites") & (table["meeting_type"] != "Total")]
    total = _published(table, site="All sites", meeting_type="Total")
    checks = [
        _check_against("t1_total_by_site", "Meetings, sum of site totals", total, sites["n"].sum()),
        _check_against("t1_total_by_type", "Meetings, sum of type totals", total, types["n"].sum()),
    ]
    text = table1[table1["reported_in"] == "text"]
    for site in [*SITES, "All sites"]:
        row = _published(text, site=site, meeting_type="Total")
        reproduced = _published(table, site=site, meeting_type="Total")["n"]
        checks.append(
            _check_against(
                f"t1_text_{site.lower().replace(' ', '_')}",
                f"Meetings at {site}: text against Table 1",
                row,
                reproduced,
            )
        )
    return checks


def table2_matrix(table2: pd.DataFrame) -> pd.DataFrame:
    """Table 2 as sites x interviewee types with published and recomputed totals."""
    table = table2[table2["reported_in"] == "table"]
    wide = table.pivot(index="site", columns="interviewee_type", values="n")
    wide = wide.reindex(index=[*SITES, "National perspectives", "All sites"])
    wide = wide.reindex(columns=[*INTERVIEW_TYPES, "Total"])
    cells = wide.loc[list(SITES), list(INTERVIEW_TYPES)]
    recomputed = pd.Series(np.nan, index=wide.index, dtype="float64")
    recomputed[list(SITES)] = cells.sum(axis=1).to_numpy()
    recomputed["All sites"] = wide.loc[[*SITES, "National perspectives"], "Total"].sum()
    wide["Total (recomputed)"] = recomputed
    type_sums = cells.sum(axis=0)
    out = wide.astype("Float64")
    out.loc["All sites (recomputed)"] = pd.NA
    out.loc["All sites (recomputed)", list(INTERVIEW_TYPES)] = type_sums.to_numpy()
    out.columns.name = None
    return out.reset_index(names="site")


def table2_checks(table2: pd.DataFrame) -> list[Check]:
    """Table 2: every site total and type total recomputed from the cells, and 205 overall."""
    table = table2[table2["reported_in"] == "table"]
    cells = table[table["site"].isin(SITES) & (table["interviewee_type"] != "Total")]
    checks = []
    for site in SITES:
        row = _published(table, site=site, interviewee_type="Total")
        n = cells.loc[cells["site"] == site, "n"].sum()
        checks.append(_check_against(f"t2_site_{site.lower()}", f"Interviews, {site}", row, n))
    for kind in INTERVIEW_TYPES:
        row = _published(table, site="All sites", interviewee_type=kind)
        n = cells.loc[cells["interviewee_type"] == kind, "n"].sum()
        slug = kind.lower().replace(" ", "_")
        checks.append(_check_against(f"t2_type_{slug}", f"Interviews, all sites, {kind}", row, n))
    total = _published(table, site="All sites", interviewee_type="Total")
    site_totals = table[
        table["site"].isin([*SITES, "National perspectives"])
        & (table["interviewee_type"] == "Total")
    ]["n"].sum()
    national = _published(table, site="National perspectives", interviewee_type="Total")["n"]
    type_totals = table[(table["site"] == "All sites") & (table["interviewee_type"] != "Total")]
    checks += [
        _check_against(
            "t2_total_by_site", "Interviews, sum of site totals and national", total, site_totals
        ),
        _check_against(
            "t2_total_by_type",
            "Interviews, sum of type totals and national",
            total,
            type_totals["n"].sum() + national,
        ),
        _check_against(
            "t2_text_total",
            "Interviews: text against recomputed total",
            _published(table2, site="All sites", interviewee_type="Total", reported_in="text"),
            cells["n"].sum() + national,
        ),
    ]
    return checks


def table1_matrix(table1: pd.DataFrame) -> pd.DataFrame:
    """Table 1 as published: sites x meeting types (lost cells empty) with recomputed totals."""
    table = table1[table1["reported_in"] == "table"]
    wide = table.pivot(index="site", columns="meeting_type", values="n")
    columns = ["Federation", "Federation services", "Practice", "Other", "Total"]
    wide = wide.reindex(index=[*SITES, "All sites"], columns=columns).astype("Float64")
    recomputed = wide["Total"].copy()
    recomputed["All sites"] = wide.loc[list(SITES), "Total"].sum()
    recomputed[list(SITES)] = pd.NA
    wide["Total (recomputed)"] = recomputed
    wide.columns.name = None
    return wide.reset_index(names="site")


def table3_matrix(table3: pd.DataFrame) -> pd.DataFrame:
    """Table 3 as published: characteristics x sites."""
    order = list(dict.fromkeys(table3["characteristic"]))
    wide = table3.pivot(index="characteristic", columns="site", values="value")
    wide = wide.loc[order, list(SITES)]
    wide.columns.name = None
    return wide.reset_index()


def _cross_check(check_id, quantity, row: pd.Series, published: str, reproduced: str) -> Check:
    return check_from(
        f"cs_{check_id}",
        row,
        strand=STRAND,
        quantity=quantity,
        published=published,
        reproduced=reproduced,
    )


def table3_checks(table3: pd.DataFrame, scored: pd.DataFrame) -> list[Check]:
    """Table 3's 'Competition for members' against the code read from the prose."""
    checks = []
    for site in sorted(set(scored["site"]), key=SITES.index):
        row = _published(table3, characteristic="Competition for members", site=site)
        code = _published(scored, site=site, theme="competition_for_members")["code"]
        checks.append(
            _cross_check(
                f"t3_competition_{site.lower()}",
                f"Competition for members, {site}: Table 3 against coded prose",
                row,
                row["value"],
                "Yes" if code == "yes" else "No",
            )
        )
    return checks


def table7_checks(table7: pd.DataFrame, scored: pd.DataFrame) -> list[Check]:
    """Whether Table 7 lists IAGP for a site, against the IAGP outcome coded from the prose."""
    checks = []
    for site in sorted(set(scored["site"]), key=SITES.index):
        rows = table7[table7["site"] == site]
        listed = rows["service"].fillna("").str.startswith("IAGP").any()
        code_rank = _published(scored, site=site, theme="iagp_outcome")["rank"]
        checks.append(
            _cross_check(
                f"t7_iagp_{site.lower()}",
                f"IAGP involvement, {site}: Table 7 against coded Chapter 4 prose",
                rows.iloc[0],
                "Yes" if listed else "No",
                "Yes" if code_rank > 0 else "No",
            )
        )
    return checks


# --------------------------------------------------------------------------- typology


def dimension_scores(scored: pd.DataFrame) -> pd.DataFrame:
    """Each site's score on the two typology dimensions.

    Raises
    ------
    ValueError
        If a dimension code has no score (off the ordinal scale and not overridden).
    """
    dims = scored[scored["theme"].isin(DIMENSIONS)]
    missing = dims[dims["score"].isna()]
    if not missing.empty:
        pairs = list(zip(missing["site"], missing["theme"], missing["code"], strict=True))
        raise ValueError(f"typology: codes without a score {pairs}; give them one in scoring_map")
    wide = dims.pivot(index="site", columns="theme", values="score")
    sites = [s for s in SITES if s in wide.index]
    wide = wide.reindex(index=sites, columns=list(DIMENSIONS))
    wide.columns.name = None
    return wide.rename(columns={"control_over_members": "control"}).reset_index()


def classify(
    dims: pd.DataFrame, control_threshold: float = 0.5, proactivity_threshold: float = 0.5
) -> pd.DataFrame:
    """Place each site in a quadrant: a score strictly above a threshold is ``high``.

    Parameters
    ----------
    dims
        Output of :func:`dimension_scores` (``site, control, system_proactivity``).
    control_threshold, proactivity_threshold
        Cut points on the 0-1 score scale.

    Returns
    -------
    pandas.DataFrame
        ``dims`` with ``control_level``, ``proactivity_level`` (``high``/``low``) and
        ``style`` (authoritative, indulgent, neglectful or authoritarian).
    """
    c = check_threshold("control_threshold", control_threshold)
    p = check_threshold("proactivity_threshold", proactivity_threshold)
    high_c = dims["control"] > c
    high_p = dims["system_proactivity"] > p
    out = dims.copy()
    out["control_level"] = np.where(high_c, "high", "low")
    out["proactivity_level"] = np.where(high_p, "high", "low")
    out["style"] = [STYLES[(bool(a), bool(b))] for a, b in zip(high_c, high_p, strict=True)]
    return out


def threshold_ranges(dims: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """For each dimension, the thresholds that reproduce the published high/low levels.

    A threshold ``t`` reproduces them when every published-high site scores above ``t``
    and every published-low site scores at or below it: ``max(low) <= t < min(high)``.

    Returns
    -------
    pandas.DataFrame
        ``dimension, lowest, below, reproducible``: thresholds in ``[lowest, below)``
        work; ``reproducible`` is False when no threshold does.
    """
    levels = published[["site", "control", "system_proactivity"]]
    merged = dims.merge(levels, on="site", suffixes=("", "_published"))
    rows = []
    for dim in ("control", "system_proactivity"):
        level = merged[f"{dim}_published"]
        high = merged.loc[level == "high", dim]
        low = merged.loc[level == "low", dim]
        lowest = float(low.max()) if len(low) else 0.0
        below = float(high.min()) if len(high) else math.inf
        rows.append(
            {"dimension": dim, "lowest": lowest, "below": below, "reproducible": lowest < below}
        )
    return pd.DataFrame(rows)


def typology_checks(typology: pd.DataFrame, published: pd.DataFrame) -> list[Check]:
    """The derived style of each site against the published one, and no authoritarian site."""
    checks = []
    for _, row in typology.iterrows():
        pub = _published(published, site=row["site"])
        checks.append(
            _cross_check(
                f"typology_{row['site'].lower()}",
                f"Central-authority style, {row['site']}",
                pub,
                pub["style"],
                row["style"],
            )
        )
    anchor = published.iloc[0]
    checks.append(
        check(
            "cs_typology_authoritarian_count",
            strand=STRAND,
            quantity="Sites classified authoritarian",
            source_file=anchor["source_file"],
            source_location="Chapter 4, Central authority leadership and management",
            source_lines="657",
            published=0,
            reproduced=int((typology["style"] == "authoritarian").sum()),
        )
    )
    return checks


def _quadrant_labels(ax: plt.Axes, c: float) -> None:
    spots = {
        "authoritative": ((c + 1.05) / 2, 1.02),
        "indulgent": ((c - 0.05) / 2, 1.02),
        "neglectful": ((c - 0.05) / 2, -0.09),
        "authoritarian": ((c + 1.05) / 2, -0.09),
    }
    for name, (x, y) in spots.items():
        ax.text(x, y, name, ha="center", va="bottom", fontsize=9, style="italic", color="#444444")


def plot_typology(typology: pd.DataFrame, control_threshold: float, p_threshold: float):
    """The sites on control x system proactivity, with the thresholds and quadrant names."""
    fig, ax = plt.subplots(figsize=(6.2, 5.4))
    ax.axvline(control_threshold, color="grey", linestyle="--", linewidth=1)
    ax.axhline(p_threshold, color="grey", linestyle="--", linewidth=1)
    for (x, y), group in typology.groupby(["control", "system_proactivity"], sort=True):
        right = x > 0.7
        for k, (_, row) in enumerate(group.iterrows()):
            ax.scatter(x, y, s=90, color=STYLE_COLOURS[row["style"]], edgecolor="black", zorder=3)
            ax.annotate(
                f"{row['site']} ({row['style']})",
                (x, y),
                xytext=(-8 if right else 8, (-16 if y > 0.9 else 6) - 12 * k),
                textcoords="offset points",
                ha="right" if right else "left",
                fontsize=8.5,
            )
    _quadrant_labels(ax, control_threshold)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.1, 1.1)
    ax.set_xlabel("control over members (score)")
    ax.set_ylabel("system proactivity (score)")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- QCA input

QCA_CONDITIONS = (
    "history",
    "ccg_relationship",
    "competition_for_members",
    "money",
    "size_geography",
    "leadership_management",
    "central_authority_style",
    *DIMENSIONS,
)


def check_qca_parameters(outcome: str, conditions: Sequence[str]) -> list[str]:
    """Validate the QCA outcome (one of :data:`OUTCOMES`) and conditions (drivers, dimensions).

    Raises
    ------
    ValueError
        Naming ``qca_outcome`` or ``qca_conditions``.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"qca_outcome: {outcome!r} is not one of {list(OUTCOMES)}")
    return check_choices("qca_conditions", conditions, QCA_CONDITIONS)


def crisp_sets(scored: pd.DataFrame, theme_names: Sequence[str], threshold: float) -> pd.DataFrame:
    """Crisp membership (1 when the score is strictly above ``threshold``) per site and theme.

    Raises
    ------
    ValueError
        If a chosen theme has a code without a score at some site.
    """
    t = check_threshold("qca_threshold", threshold)
    rows = scored[scored["theme"].isin(theme_names)]
    missing = rows[rows["score"].isna()]
    if not missing.empty:
        pairs = list(zip(missing["site"], missing["theme"], missing["code"], strict=True))
        raise ValueError(f"qca: codes without a score {pairs}; choose other conditions")
    wide = rows.pivot(index="site", columns="theme", values="score")
    wide = wide.reindex(index=[s for s in SITES if s in wide.index], columns=list(theme_names))
    out = (wide > t).astype(int)
    out.columns.name = None
    out.index.name = "case"
    return out


# --------------------------------------------------------------------------- Nuffield


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


def plot_nuffield(practices: pd.DataFrame, placed: pd.DataFrame) -> plt.Figure:
    """Number of member practices over time for the four Nuffield organisations."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    form = placed.set_index("organisation")["form"]
    for org, rows in practices.groupby("organisation", sort=True):
        ax.plot(rows["year"], rows["practices"], marker="o", label=f"{org} ({form[org]})")
    ax.set_yscale("log")
    ax.set_xlabel("year")
    ax.set_ylabel("member practices (log scale)")
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
