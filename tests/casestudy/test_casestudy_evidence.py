"""Case-study inputs: the coded evidence and every data file, catalogued, cited and checked.

Bad input must give an error naming the file, line and column.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from analysis.casestudy.evidence import load, read_codebook, read_evidence
from analysis.casestudy.published import read_table1, read_table2
from analysis.casestudy.sources import FILES, MAX_EXCERPT, SITES, SOURCES, data_path
from analysis.core.catalogue import load as load_catalogue
from analysis.core.datasets import DataError, sha256_file
from analysis.core.provenance import excerpt_found, parse_lines
from analysis.paths import sources_dir

DATA = load()
ALL_THEMES = list(DATA.themes["theme"])


def sources_or_skip():
    root = sources_dir()
    if not root.exists():
        pytest.skip(f"source documents not found at {root}")
    return root


# --------------------------------------------------------------------------- catalogue


def test_catalogued_files_read_cleanly_and_match_their_hash():
    entries = [d for d in load_catalogue() if d.path.startswith("casestudy/")]
    assert {d.path for d in entries} == set(FILES.values())
    for entry in entries:
        frame = entry.read()
        assert sha256_file(entry.file) == entry.sha256, f"{entry.path}: run catalogue --update"
        assert len(frame) == entry.rows, entry.path
        assert entry.tier == "published"


def test_evidence_is_a_complete_matrix_with_one_code_per_site_and_theme():
    assert len(DATA.evidence) == len(SITES) * len(ALL_THEMES) == 84
    pairs = DATA.evidence.groupby(["site", "theme"]).size()
    assert (pairs == 1).all()
    scales = DATA.codebook.groupby("theme")["code"].apply(set)
    for _, row in DATA.evidence.iterrows():
        assert row["code"] in scales[row["theme"]]


def test_every_scale_is_documented_and_ranked_from_zero():
    for theme, rows in DATA.codebook.groupby("theme"):
        ranks = sorted(rows["rank"].dropna().astype(int))
        assert ranks == list(range(len(ranks))), theme
        assert rows["meaning"].str.len().min() > 3


# --------------------------------------------------------------------------- provenance


def _every_cited_row():
    frames = {
        "evidence": (DATA.evidence, "excerpt"),
        "typology": (DATA.typology, "excerpt"),
        "forms": (DATA.forms, "excerpt"),
        "table3": (DATA.table3, "value"),
        "table7": (DATA.table7, "service"),
        "nuffield": (DATA.nuffield, "value"),
        "table1": (DATA.table1, "n"),
        "table2": (DATA.table2, "n"),
    }
    for name, (frame, column) in frames.items():
        for i, row in frame.iterrows():
            yield name, i, row, row[column]


def test_every_excerpt_and_value_is_found_in_its_cited_lines():
    root = sources_or_skip()
    missing = []
    for name, i, row, value in _every_cited_row():
        if pd.isna(value):
            continue
        text = str(int(value)) if isinstance(value, int | np.integer) else str(value)
        if not excerpt_found(text, row["source_file"], row["source_lines"], root):
            missing.append((name, i + 2, text[:60], row["source_lines"]))
    assert not missing


def test_cited_lines_exist_in_the_source_files():
    root = sources_or_skip()
    lengths = {f: len((root / f).read_text(encoding="utf-8").splitlines()) for f in SOURCES}
    for name, i, row, _ in _every_cited_row():
        first, last = parse_lines(row["source_lines"])
        assert 1 <= first <= last <= lengths[row["source_file"]], (name, i + 2)


def test_excerpts_are_short_single_lines():
    for frame in (DATA.evidence, DATA.typology, DATA.forms):
        assert frame["excerpt"].str.len().max() <= MAX_EXCERPT
        assert not frame["excerpt"].str.contains("\n").any()


def test_lost_cells_are_recorded_not_guessed():
    lost1 = DATA.table1[DATA.table1["n"].isna()]
    assert len(lost1) == 16 and lost1["note"].str.contains("lost").all()
    lost7 = DATA.table7[DATA.table7["service"].isna()]
    assert list(lost7["site"]) == ["Embedded", "Embedded"]
    rebuilt = DATA.evidence[DATA.evidence["note"].fillna("").str.contains("lost")]
    assert set(rebuilt["theme"]) >= {"iagp_outcome", "directing", "engineering", "co_producing"}


# --------------------------------------------------------------------------- bad input files


def _rewrite(tmp_path, name, change):
    """A copy of data file ``name`` with ``change`` applied (a function of the raw frame)."""
    path = tmp_path / f"{name}.csv"
    frame = pd.read_csv(data_path(name), dtype=str, keep_default_na=False)
    changed = change(frame)
    (frame if changed is None else changed).to_csv(path, index=False)
    return path


def _set(column, index, value):
    """A change that puts ``value`` in one cell (``index`` is the 0-based data row)."""

    def change(frame):
        frame.loc[index, column] = value

    return change


def _read_evidence(path):
    return read_evidence(path, codebook=DATA.codebook, themes=DATA.themes)


def test_unknown_site_in_evidence_names_file_line_and_column(tmp_path):
    path = _rewrite(
        tmp_path,
        "evidence",
        _set("site", 5, "Bigtown"),
    )
    with pytest.raises(DataError, match=r"(?s)evidence\.csv.*line 7, column 'site': 'Bigtown'"):
        _read_evidence(path)


def test_unknown_theme_in_evidence_is_named(tmp_path):
    path = _rewrite(
        tmp_path,
        "evidence",
        _set("theme", 0, "weather"),
    )
    with pytest.raises(DataError, match=r"line 2, column 'theme': unknown theme 'weather'"):
        _read_evidence(path)


def test_code_outside_its_scale_is_named(tmp_path):
    path = _rewrite(
        tmp_path,
        "evidence",
        _set("code", 3, "excellent"),
    )
    with pytest.raises(
        DataError, match=r"line 5, column 'code': 'excellent' is not on the 'history' scale"
    ):
        _read_evidence(path)


def test_missing_excerpt_is_named(tmp_path):
    path = _rewrite(
        tmp_path,
        "evidence",
        _set("excerpt", 10, ""),
    )
    with pytest.raises(DataError, match=r"line 12, column 'excerpt': missing value"):
        _read_evidence(path)


def test_overlong_excerpt_is_named(tmp_path):
    path = _rewrite(
        tmp_path,
        "evidence",
        _set("excerpt", 2, "x" * 201),
    )
    with pytest.raises(DataError, match=r"line 4, column 'excerpt'.*str_length"):
        _read_evidence(path)


def test_bad_source_lines_are_named(tmp_path):
    path = _rewrite(
        tmp_path,
        "evidence",
        _set("source_lines", 1, "p.12"),
    )
    with pytest.raises(DataError, match=r"line 3, column 'source_lines': 'p.12'"):
        _read_evidence(path)


def test_missing_judgement_is_reported(tmp_path):
    path = _rewrite(tmp_path, "evidence", lambda f: f.drop(index=[0, 1]))
    with pytest.raises(
        DataError, match=r"no judgement for \(site, theme\).*'Expanding', 'history'"
    ):
        _read_evidence(path)


def test_duplicate_judgement_is_reported(tmp_path):
    def duplicate(frame):
        frame.loc[len(frame)] = frame.loc[0]

    path = _rewrite(tmp_path, "evidence", duplicate)
    with pytest.raises(DataError, match=r"duplicated key \['site', 'theme'\] on lines \[2, 86\]"):
        _read_evidence(path)


def test_codebook_rank_gap_is_named(tmp_path):
    path = _rewrite(tmp_path, "codebook", _set("rank", 1, "3"))
    with pytest.raises(
        DataError, match=r"(?s)codebook\.csv.*column 'rank': theme 'history' has ranks \[0, 2, 3\]"
    ):
        read_codebook(path, themes=DATA.themes)


def test_lost_cell_without_a_note_is_an_error(tmp_path):
    path = _rewrite(tmp_path, "table1", _set("note", 0, ""))
    with pytest.raises(DataError, match=r"line 2, column 'n': missing value without a note"):
        read_table1(path)


def test_negative_count_is_named(tmp_path):
    path = _rewrite(tmp_path, "table2", _set("n", 0, "-3"))
    with pytest.raises(DataError, match=r"line 2, column 'n': -3"):
        read_table2(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        _read_evidence(tmp_path / "nope.csv")


def test_data_path_rejects_unknown_names():
    with pytest.raises(KeyError, match="unknown case-study data file 'tables'"):
        data_path("tables")


def test_module_works_from_a_copy_of_the_data(tmp_path, monkeypatch):
    shutil.copytree(data_path("themes").parents[1], tmp_path / "data" / "casestudy")
    monkeypatch.setenv("COMPENDIUM_ROOT", str(tmp_path))
    copy = load()
    assert copy.evidence.equals(DATA.evidence)


# --------------------------------------------------------------------------- disconfirming


def test_disconfirming_evidence_is_recorded_in_both_files_or_neither(tmp_path):
    from analysis.casestudy.evidence import disconfirming_problems, read_excerpts

    assert disconfirming_problems(DATA.evidence, DATA.excerpts) == []
    against = DATA.excerpts[DATA.excerpts["stance"] == "disconfirms"]
    stated = DATA.evidence[DATA.evidence["disconfirming"].notna()]
    assert set(zip(against["site"], against["theme"], strict=True)) == set(
        zip(stated["site"], stated["theme"], strict=True)
    )
    # An excerpt turned against a judgement that lists no disconfirming evidence is named.
    text = data_path("excerpts").read_text(encoding="utf-8").splitlines()
    line = next(i for i, t in enumerate(text) if t.startswith("Small,iagp_outcome,supports,"))
    text[line] = text[line].replace(",supports,", ",disconfirms,", 1)
    path = tmp_path / "excerpts.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"line {line + 1}, column 'stance': disconfirms"):
        read_excerpts(path, evidence=DATA.evidence)


def test_audited_excerpts_support_their_code_or_are_context():
    """The excerpts an audit found not to disconfirm their code (file lines 25, 26, 32 and 35)
    support it; the federation monitoring its own engagement targets (line 39) is context."""
    rows = DATA.excerpts.set_index(["site", "theme", "excerpt"])["stance"]
    assert rows[("Struggling", "size_geography", "90")] == "supports"
    assert rows[("Struggling", "size_geography", "they’re scattered all over the city")] == (
        "supports"
    )
    dependent = "the degree to which the fortunes of the federation appeared to be very "
    assert rows[
        ("Struggling", "leadership_management", dependent + "dependent on two individuals")
    ] == ("supports")
    assert rows[("Small", "iagp_outcome", "In contrast, Small did not submit a bid.")] == "supports"
    context = DATA.excerpts[DATA.excerpts["stance"] == "context"]
    assert list(zip(context["site"], context["theme"], strict=True)) == [
        ("Embedded", "control_over_members")
    ]
    assert context["note"].str.len().gt(20).all()  # a context excerpt says why
    assert (DATA.excerpts["stance"] == "disconfirms").sum() == 15 - 4 - 1
