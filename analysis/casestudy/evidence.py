"""The coded evidence of the four GP federations (McDonald et al. 2020), and the strand's loader.

The evidence is kept the way qualitative researchers keep a framework matrix
(Gale et al. 2013): one row per (site, theme) judgement with an ordinal or
categorical ``code`` on a documented scale (``codebook.csv``), a one-line summary,
a short verbatim excerpt and the source lines it came from. This module holds the
contract of those files (themes, codebook, evidence), the cross-file checks and the
readers; :func:`load` reads every input of the strand, the published tables
(:mod:`analysis.casestudy.published`, :mod:`analysis.casestudy.nuffield`) included.

Reading functions are the only ones that touch files; the rest of the strand takes and
returns DataFrames (or figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pandera.pandas import Check as PaCheck
from pandera.pandas import Column, DataFrameSchema

from analysis.casestudy.central_authority import read_box1, read_table5, read_table6
from analysis.casestudy.nuffield import read_forms, read_nuffield
from analysis.casestudy.published import (
    read_published_typology,
    read_table1,
    read_table2,
    read_table3,
    read_table7,
)
from analysis.casestudy.sources import (
    EVIDENCE_KINDS,
    MAX_EXCERPT,
    SITES,
    at_cell,
    data_path,
    file_problems,
    line_breaks,
    provenance_columns,
)
from analysis.core.datasets import read_table

GROUPS = ("driver", "leadership_aspect", "interdependence_activity", "outcome", "typology")

_NAME = r"^[a-z][a-z0-9_]*$"

THEMES_SCHEMA = DataFrameSchema(
    {
        "theme": Column(str, PaCheck.str_matches(_NAME)),
        "group": Column(str, PaCheck.isin(GROUPS)),
        "label": Column(str),
        "definition": Column(str),
        **provenance_columns(note=False),
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
        "evidence_kind": Column(str, PaCheck.isin(EVIDENCE_KINDS)),
        "attribution": Column(str, nullable=True),
        "disconfirming": Column(str, nullable=True),
        **provenance_columns(),
    },
    strict=True,
)
STANCES = ("supports", "disconfirms", "context")
"""How a further excerpt bears on its judgement: it supports the code, points the other way,
or is context that points neither way (the ``note`` column says why)."""
EXCERPTS_SCHEMA = DataFrameSchema(
    {
        "site": Column(str, PaCheck.isin(SITES)),
        "theme": Column(str, PaCheck.str_matches(_NAME)),
        "stance": Column(str, PaCheck.isin(STANCES)),
        "evidence_kind": Column(str, PaCheck.isin(EVIDENCE_KINDS)),
        "attribution": Column(str, nullable=True),
        "excerpt": Column(str, PaCheck.str_length(min_value=1, max_value=MAX_EXCERPT)),
        **provenance_columns(),
    },
    strict=True,
)


def attribution_problems(frame: pd.DataFrame) -> list[str]:
    """An interview quote needs the report's attribution; other kinds must not carry one."""
    quote = frame["evidence_kind"] == "interview_quote"
    has = frame["attribution"].notna()
    return [
        at_cell(i, "attribution", "an interview_quote needs the report's attribution")
        for i in frame.index[quote & ~has]
    ] + [
        at_cell(i, "attribution", f"only an interview_quote has an attribution, not {k!r}")
        for i, k in frame.loc[~quote & has, "evidence_kind"].items()
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
        at_cell(i, "theme", f"{t!r} is not a theme in themes.csv")
        for i, t in codebook["theme"].items()
        if t not in known
    ]
    for theme, rows in codebook.groupby("theme", sort=False):
        ranks = rows["rank"].dropna().astype(int).tolist()
        if sorted(ranks) != list(range(len(ranks))) or len(ranks) < 2:
            problems.append(
                at_cell(
                    rows.index[0],
                    "rank",
                    f"theme {theme!r} has ranks {sorted(ranks)}; expected 0, 1, ... (at least two)",
                )
            )
    missing = sorted(known - set(codebook["theme"]))
    problems += [f"theme {t!r} has no codes" for t in missing]
    if problems:
        raise file_problems(path, problems)


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
    problems = line_breaks(evidence, ["summary", "excerpt", "disconfirming", "note"])
    problems += attribution_problems(evidence)
    for i, row in evidence.iterrows():
        if row["theme"] not in scales:
            problems.append(at_cell(i, "theme", f"unknown theme {row['theme']!r}"))
        elif row["code"] not in scales[row["theme"]]:
            allowed = scales[row["theme"]]
            problems.append(
                at_cell(
                    i, "code", f"{row['code']!r} is not on the {row['theme']!r} scale {allowed}"
                )
            )
    present = set(zip(evidence["site"], evidence["theme"], strict=True))
    missing = [(s, t) for t in themes["theme"] for s in SITES if (s, t) not in present]
    if missing:
        problems.append(
            f"no judgement for (site, theme) {missing[:6]}{' ...' * (len(missing) > 6)}"
        )
    if problems:
        raise file_problems(path, problems)


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


def read_excerpts(path: Path | None = None, evidence: pd.DataFrame | None = None) -> pd.DataFrame:
    """Further excerpts for a (site, theme) judgement, each supporting or disconfirming it.

    Raises
    ------
    DataError
        Naming file, line and column for a (site, theme) with no judgement in the evidence,
        or an attribution that does not fit the kind of evidence.
    """
    path = path or data_path("excerpts")
    excerpts = read_table(path, EXCERPTS_SCHEMA, unique=["site", "theme", "excerpt"])
    evidence = read_evidence() if evidence is None else evidence
    judged = set(zip(evidence["site"], evidence["theme"], strict=True))
    problems = line_breaks(excerpts, ["excerpt", "note"]) + attribution_problems(excerpts)
    problems += [
        at_cell(i, "theme", f"no judgement for ({row.site!r}, {row.theme!r}) in evidence.csv")
        for i, row in excerpts.iterrows()
        if (row.site, row.theme) not in judged
    ]
    problems += disconfirming_problems(evidence, excerpts)
    if problems:
        raise file_problems(path, problems)
    return excerpts


def disconfirming_problems(evidence: pd.DataFrame, excerpts: pd.DataFrame) -> list[str]:
    """A judgement lists disconfirming evidence (``evidence.csv``) exactly when it has a
    disconfirming excerpt (``excerpts.csv``): the two files must tell the same story."""
    stated = evidence.set_index(["site", "theme"])["disconfirming"].fillna("").str.len() > 0
    against = excerpts[excerpts["stance"] == "disconfirms"]
    has = set(zip(against["site"], against["theme"], strict=True))
    problems = [
        at_cell(
            i,
            "stance",
            f"disconfirms ({row.site!r}, {row.theme!r}) but evidence.csv lists no "
            "disconfirming evidence for it",
        )
        for i, row in against.iterrows()
        if not stated.get((row.site, row.theme), False)
    ]
    problems += [
        f"evidence.csv lists disconfirming evidence for {key} but no excerpt disconfirms it"
        for key, value in stated.items()
        if value and key not in has
    ]
    return problems


def cell_excerpts(evidence: pd.DataFrame, excerpts: pd.DataFrame) -> pd.DataFrame:
    """Every excerpt of every judgement: the coded one first, then the further ones.

    Returns
    -------
    pandas.DataFrame
        ``site, theme, code, stance, evidence_kind, attribution, excerpt, source_lines``;
        the coded excerpt has stance ``supports``.
    """
    main = evidence.assign(stance="supports")
    more = excerpts.merge(evidence[["site", "theme", "code"]], on=["site", "theme"])
    columns = ["site", "theme", "code", "stance", "evidence_kind", "attribution", "excerpt"]
    return pd.concat(
        [main[[*columns, "source_lines"]], more[[*columns, "source_lines"]]], ignore_index=True
    )


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
    box1: pd.DataFrame
    table5: pd.DataFrame
    table6: pd.DataFrame
    excerpts: pd.DataFrame


def load() -> CaseStudyData:
    """Read and check every case-study data file."""
    themes = read_themes()
    codebook = read_codebook(themes=themes)
    evidence = read_evidence(codebook=codebook, themes=themes)
    return CaseStudyData(
        themes=themes,
        codebook=codebook,
        evidence=evidence,
        table1=read_table1(),
        table2=read_table2(),
        table3=read_table3(),
        table7=read_table7(),
        typology=read_published_typology(),
        nuffield=read_nuffield(),
        forms=read_forms(),
        box1=read_box1(),
        table5=read_table5(),
        table6=read_table6(),
        excerpts=read_excerpts(evidence=evidence),
    )
