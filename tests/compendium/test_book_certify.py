"""``compendium certify``: the CODECHECK configuration, on a mini project with fake runs."""

from __future__ import annotations

import json

import pytest
import yaml

from analysis.compendium import pipeline as pl
from analysis.compendium.book import certify
from analysis.compendium.cli import main

CITATION = """\
cff-version: 1.2.0
title: "Mini compendium"
authors:
  - name: "Mini contributors"
references:
  - type: report
    title: "A report"
    authors:
      - family-names: Rosen
    year: 2016
"""


def _valid() -> dict:
    return {
        "version": certify.SPEC_VERSION,
        "manifest": [{"file": "a.csv", "comment": "a table"}],
        "paper": {"title": "t", "authors": [{"name": "n"}], "reference": "r"},
        "repository": "https://example.org/compendium",
        "summary": "s",
        "check_time": "2026-01-01T00:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.pop("manifest"), "field 'manifest' is missing or empty"),
        (lambda c: c.update(summary=""), "field 'summary' is missing or empty"),
        (lambda c: c["paper"].pop("reference"), "field 'paper.reference'"),
        (lambda c: c["manifest"][0].pop("comment"), "manifest entry 0 needs 'file' and 'comment'"),
    ],
)
def test_validate_names_the_missing_field(edit, message):
    certify.validate(_valid())
    config = _valid()
    edit(config)
    with pytest.raises(certify.CertifyError, match=message):
        certify.validate(config)


def _fake_runs(root) -> None:
    """Runs recorded as the runner would (cache key of the current code and data, sha256 of
    each output), without executing anything."""
    from analysis.compendium.execute import plan_notebook
    from analysis.files import sha256_file

    pipeline = pl.load()
    for name in pipeline.order():
        folder = pl.run_dir(name)
        outputs = {}
        for output in pipeline.notebook(name).outputs:
            (folder / output).parent.mkdir(parents=True, exist_ok=True)
            (folder / output).write_text("x,y\n1,2\n")
        plan = plan_notebook(pipeline.notebook(name))
        outputs = {out: sha256_file(folder / out) for out in pipeline.notebook(name).outputs}
        record = {"outputs": outputs, "files": outputs, "cache": plan.components}
        record["parameters"] = plan.parameters
        (folder / "run.json").write_text(json.dumps(record))


def _write_tables(tables) -> None:
    (tables / "kind_counts.csv").write_text(
        "source_document,kind,kind_label,checks,agree,disagree,not checked\n"
        "Rosen et al. (2016),consistency,consistency,3,2,1,0\n"
        "all publications,consistency,consistency,3,2,1,0\n"
        "all publications,round_trip,round-trip,5,5,0,0\n"
    )
    (tables / "verdicts.csv").write_text(
        "publication,item,checks,verdict,aea_reason,label,reasons\n"
        "Rosen et al. (2016),whole publication,3,not able to reproduce,data not available,"
        "not able to reproduce: data not available,no figure recomputed\n"
    )
    (tables / "source_findings.csv").write_text(
        "finding_id,class,what\nF1,figures,a\nF2,rule,b\nT1,tension,c\n"
    )


def test_certify_without_runs_is_one_clear_line(mini, capsys):
    (mini / "CITATION.cff").write_text(CITATION)
    assert main(["certify"]) == 2
    err = capsys.readouterr().err
    assert "has no default run; run `compendium run`" in err and "Traceback" not in err
    assert not certify.codecheck_path().exists()


@pytest.fixture
def report(mini):
    """Fake default runs and a report notebook with kind counts and verdicts."""
    text = (mini / "pipeline.yml").read_text()
    text += (
        "  report:\n    title: Report\n    source: notebooks/report.ipynb\n"
        "    outputs: [tables/kind_counts.csv, tables/verdicts.csv, tables/source_findings.csv]\n"
    )
    (mini / "pipeline.yml").write_text(text)
    import nbformat

    nbformat.write(nbformat.v4.new_notebook(), mini / "notebooks" / "report.ipynb")
    (mini / "CITATION.cff").write_text(CITATION)
    (pl.run_dir("report") / "tables").mkdir(parents=True)
    _write_tables(pl.run_dir("report") / "tables")
    _fake_runs(mini)
    _write_tables(pl.run_dir("report") / "tables")  # the report's tables, as recorded
    folder = pl.run_dir("report")
    record = json.loads((folder / "run.json").read_text())
    from analysis.files import sha256_file

    for out in record["outputs"]:
        record["outputs"][out] = record["files"][out] = sha256_file(folder / out)
    (folder / "run.json").write_text(json.dumps(record))
    return mini


def test_certify_lists_every_output_and_summarises_by_kind(report, capsys):
    assert main(["certify"]) == 0
    config = yaml.safe_load(certify.codecheck_path().read_text())
    certify.validate(config)
    pipeline = pl.load()
    expected = sum(len(pipeline.notebook(n).outputs) for n in pipeline.order())
    assert len(config["manifest"]) == expected
    assert all(entry["comment"] for entry in config["manifest"])
    # Not self-signed: the codechecker's fields are empty placeholders, no certificate number.
    assert config["codechecker"] == [{"name": "", "ORCID": ""}] and config["report"] == ""
    assert "certificate" not in config
    assert config["paper"]["title"] == "Mini compendium"
    assert "Rosen et al. (2016) A report" in config["paper"]["reference"]
    summary = config["summary"]
    assert "3 consistency (2 agree, 1 disagree)" in summary
    assert "5 round-trip (5 agree, 0 disagree)" in summary
    assert "2 inconsistencies and 1 tensions open to interpretation" in summary
    assert "Rosen et al. (2016): not able to reproduce: data not available" in summary
    assert "checks the published figures of" in config["paper"]["reference"]
    page = certify.certificate_page(pipeline)
    assert "Reproduction certificate (unsigned)" in page and "```yaml" in page


def test_certify_hashes_what_it_lists_and_refuses_altered_or_stale_runs(report, capsys):
    assert main(["certify"]) == 0
    written = certify.codecheck_path()
    assert written.exists()
    capsys.readouterr()
    out = pl.run_dir("alpha") / "tables" / "out.csv"
    out.write_text("x,y\n9,9\n")  # a hand edit after the run
    assert main(["certify"]) == 2
    err = capsys.readouterr().err
    assert "notebook 'alpha' cannot be certified: its run is stale" in err
    assert "out.csv was modified" in err and err.count("\n") == 1
    assert not written.exists()  # no configuration describes results that no longer stand
    out.write_text("x,y\n1,2\n")
    assert main(["certify"]) == 0
    capsys.readouterr()
    (report / "data" / "input.csv").write_text("value\n7\n")  # an input changed since
    assert main(["certify"]) == 2
    assert "its run is stale (input file changed: data/input.csv)" in capsys.readouterr().err
    page = certify.certificate_page(pl.load())
    assert page.startswith("# Reproduction certificate (unsigned)\n\nNo configuration")


def _write(tmp_path, text: str):
    folder = tmp_path / "bundle"
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    (folder / "runs" / "a.csv").write_text("x\n1\n")
    path = folder / "codecheck.yml"
    path.write_text(text)
    return path


GOOD = """\
# a comment line may come first
---
version: https://codecheck.org.uk/spec/config/1.0/
paper:
  title: A compendium
  authors:
  - name: Contributors
  reference: https://example.org/compendium
manifest:
- file: runs/a.csv
  comment: a table
codechecker:
- name: ''
  ORCID: ''
repository: https://example.org/compendium
summary: checked
check_time: '2026-01-01 00:00:00'
report: ''
"""


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("---\n", "", "CC-CFG-002"),
        ("file: runs/a.csv", "file: /abs/runs/a.csv", "CC-CFG-006"),
        ("file: runs/a.csv", "file: ../runs/a.csv", "CC-CFG-006"),
        ("file: runs/a.csv", "file: runs/b.csv", "CC-BUN-001"),
        ("repository: https://example.org/compendium", "repository: /work/repo", "CC-BUN-004"),
        ("summary: checked", "summary: FIXME", "CC-CFG-023"),
        ("report: ''", "report: https://doi.org/10.5281/zenodo.FIXME", "CC-CFG-013"),
        ("report: ''", "report: x\ncertificate: 26-1", "CC-CFG-026"),
    ],
)
def test_codecheck_rules_of_the_specification(tmp_path, old, new, rule):
    from analysis.compendium.book import codecheckspec

    broken, awaiting = codecheckspec.problems(_write(tmp_path, GOOD))
    assert broken == []
    assert [f.rule for f in awaiting] == ["CC-CFG-009", "CC-CFG-011"]
    assert GOOD.count(old) == 1
    broken, _ = codecheckspec.problems(_write(tmp_path, GOOD.replace(old, new)))
    assert rule in [f.rule for f in broken]


def test_codecheck_filled_by_the_codechecker_meets_every_rule(tmp_path):
    from analysis.compendium.book import codecheckspec

    signed = GOOD.replace(
        "- name: ''\n  ORCID: ''", "- name: A Checker\n  ORCID: 0000-0002-1825-0097"
    )
    signed = signed.replace("report: ''", "report: https://doi.org/10.5281/zenodo.1234567")
    assert codecheckspec.problems(_write(tmp_path, signed)) == ([], [])


@pytest.mark.parametrize(
    ("remote", "url"),
    [
        ("git@github.com:owner/repo.git", "https://github.com/owner/repo"),
        ("https://user:token@gitlab.com/g/r.git", "https://gitlab.com/g/r"),
        ("ssh://git@github.com/owner/repo", "https://github.com/owner/repo"),
        ("/work/main", None),
        ("../main", None),
        ("file:///srv/repo.git", None),
    ],
)
def test_repository_is_a_url_never_a_local_path(remote, url):
    assert certify.remote_url(remote) == url


def test_written_codecheck_validates_from_its_own_folder(report, monkeypatch):
    """The file `compendium certify` writes meets every rule a file can meet before it is
    signed (paths resolve from the file's own folder; the repository from the setting)."""
    from analysis.compendium.book import codecheckspec

    monkeypatch.setenv("COMPENDIUM_REPOSITORY_URL", "git@github.com:example/gp-scale.git")
    assert main(["certify"]) == 0
    path = certify.codecheck_path()
    assert path.read_text().splitlines()[3] == "---"
    broken, awaiting = codecheckspec.problems(path)
    assert broken == [], broken
    assert {f.rule for f in awaiting} == {"CC-CFG-009", "CC-CFG-011"}
    config = yaml.safe_load(path.read_text())
    assert config["repository"] == "https://github.com/example/gp-scale"
    assert all((path.parent / e["file"]).is_file() for e in config["manifest"])
    page = certify.certificate_page(pl.load())
    assert str(report) not in page  # no local path of the build machine is published
