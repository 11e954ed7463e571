"""The files that let someone rerun and reuse the compendium later: lock, CI, rights, metadata.

- the lock pins exactly what pyproject.toml asks for, with hashes, and `make` installs from it;
- the GitHub workflow is valid and would build, keep and publish the book;
- CITATION.cff is valid CFF 1.2.0 and .zenodo.json says the same;
- every dataset states its licence, with the terms of the source it quotes;
- the rights page answers "may I reuse this?" for every file in the repository;
- the pre-commit hooks pass on the repository and fail on bad files.
"""

from __future__ import annotations

import copy
import datetime
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement

from analysis.compendium.lockfile import lock_differences, lock_line, lock_pins
from analysis.paths import repo_root

ROOT = repo_root()
LOCK = ROOT / "requirements" / "lock-py311.txt"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
CFF_SCHEMA = Path(__file__).parent / "vendor" / "cff-schema-1.2.0.json"
PROJECT = "gp-scale-compendium"
OGL_ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0"
)
#: Where each source document states its terms (file and line of ../shared/sources/).
SOURCE_TERMS = {
    "000_088f6aeed890f33a.txt": "000_088f6aeed890f33a.txt line 10",
    "002_d1de2aebef7660af.txt": "002_d1de2aebef7660af.txt lines 453-454",
    "001_3504c6f1a282cc28.txt": "001_3504c6f1a282cc28.txt, no licence stated",
}


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [
        Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]
    ]


def _lock_entries(text: str) -> dict[str, dict]:
    """Lock entries by name: version, number of hashes and the packages they are there for."""
    entries: dict[str, dict] = {}
    current = None
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if match:
            current = entries.setdefault(
                _name(match.group(1)), {"version": match.group(2), "hashes": 0, "via": set()}
            )
        elif current and line.strip().startswith("--hash=sha256:"):
            current["hashes"] += 1
        elif current and re.match(r"^\s+# (via )?(  )?\S", line):
            via = re.sub(r"^\s+#\s+(via\s+)?", "", line).strip()
            if via and via != "via":
                current["via"].add(via)
    return entries


# --------------------------------------------------------------------------- the lock


def test_lock_pins_every_requirement_of_pyproject_within_its_bounds():
    entries = _lock_entries(LOCK.read_text())
    for req in _requirements():
        name = _name(req.name)
        assert name in entries, f"{LOCK.name}: {req.name} is in pyproject.toml but not locked"
        version = entries[name]["version"]
        assert req.specifier.contains(version, prereleases=True), (
            f"{LOCK.name}: {req.name}=={version} is outside pyproject.toml's {req}"
        )
        for extra in req.extras:  # dask[distributed]: what the extra pulls in is locked too
            for sub in map(Requirement, metadata.requires(req.name) or []):
                if sub.marker and sub.marker.evaluate({"extra": extra}):
                    if not sub.marker.evaluate({"extra": ""}):
                        assert _name(sub.name) in entries, f"{req}: {sub.name} not locked"


def test_lock_holds_no_top_level_package_pyproject_dropped():
    entries = _lock_entries(LOCK.read_text())
    locked_for_project = {
        name for name, entry in entries.items() if f"{PROJECT} (pyproject.toml)" in entry["via"]
    }
    assert locked_for_project == {_name(req.name) for req in _requirements()}


def test_every_locked_package_is_pinned_with_hashes_and_the_lock_says_how_it_was_made():
    text = LOCK.read_text()
    entries = _lock_entries(text)
    assert len(entries) > len(_requirements())  # transitive dependencies are locked too
    assert not [name for name, entry in entries.items() if entry["hashes"] == 0]
    requirement_lines = [line for line in text.splitlines() if line and line[0].isalnum()]
    assert all("==" in line for line in requirement_lines), "every requirement is an exact pin"
    assert "#    make lock" in text.splitlines()[1]


def _make_dry_run(target: str, tmp_path: Path, *args: str) -> str:
    venv = tmp_path / "venv"  # no stamp there, so make prints the whole install recipe
    result = subprocess.run(
        ["make", "-n", "-C", str(ROOT), f"VENV={venv}", target, *args],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_installs_from_the_lock_by_default_and_make_lock_compiles_with_hashes(tmp_path):
    install = _make_dry_run("install", tmp_path)
    assert f"--require-hashes -r {LOCK.relative_to(ROOT)}" in install
    assert "--no-deps -e ." in install
    assert "pip --disable-pip-version-check check" in install
    assert '-e ".[test]"' not in install
    unpinned = _make_dry_run("install", tmp_path, "LOCK=")
    assert '-e ".[test]"' in unpinned and "--require-hashes" not in unpinned
    lock = _make_dry_run("lock", tmp_path)
    compile_line = lock[lock.index("uv pip compile") :]
    for flag in ("--generate-hashes", "--extra test", "--python-version 3.11", "-o requirements/"):
        assert flag in compile_line, flag


def test_lock_comparison_names_each_package_that_differs():
    text = "a-b==1.0 \\\n    --hash=sha256:00\nC_d==2.0 ; python_version >= '3'\n# x==9\n"
    pins = lock_pins(text)
    assert pins == {"a-b": "1.0", "c-d": "2.0"}
    assert lock_differences(pins, {"a-b": "1.0", "c-d": "2.0", "extra": "1"}) == []
    assert lock_differences(pins, {"a-b": "1.1"}) == [
        "a-b installed 1.1, locked 1.0",
        "c-d installed nothing, locked 2.0",
    ]


def test_reproducibility_line_names_the_lock_and_its_hash(tmp_path):
    line = lock_line()
    assert f"`{LOCK.relative_to(ROOT)}`" in line
    assert f"{len(lock_pins(LOCK.read_text()))} packages" in line
    missing = lock_line(tmp_path / "lock-py311.txt")
    assert "none for Python" in missing and "pyproject.toml" in missing


# --------------------------------------------------------------------------- CI


def _workflow() -> dict:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on` as True
    return workflow


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _check_workflow_schema(path: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema"]
    return subprocess.run(
        [*command, "vendor.github-workflows", str(path)], capture_output=True, text=True
    )


def test_workflow_is_valid_against_the_github_workflow_schema(tmp_path):
    result = _check_workflow_schema(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = _workflow()
    broken["jobs"]["build"]["steps"][0]["uses"] = ["not", "a", "string"]
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    assert _check_workflow_schema(path).returncode != 0


def test_workflow_runs_the_two_commands_keeps_the_book_and_notebooks_and_deploys_main():
    workflow = _workflow()
    assert {"push", "pull_request"} <= set(workflow["on"])
    steps = _steps(workflow)
    runs = [step.get("run", "") for step in steps]
    assert "make all" in runs and "make test" in runs
    assert runs.index("make all") < runs.index("make test")
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["cache"] == "pip"
    assert (ROOT / python["with"]["cache-dependency-path"]) == LOCK
    uploads = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
    paths = "\n".join(s["with"]["path"] for s in uploads)
    assert "build/book/html" in paths  # analysis.compendium.book.collect.book_html_dir()
    assert "build/runs/" in paths and "build/manifest.json" in paths
    assert all(s.get("if") == "always()" for s in uploads)
    pages = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert "refs/heads/main" in pages["if"]
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and "refs/heads/main" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["steps"][-1]["uses"].startswith("actions/deploy-pages")
    assert workflow["permissions"] == {"contents": "read"}


def test_local_ci_entry_still_runs_the_test_command():
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert lines[-1] == "make test"


# --------------------------------------------------------------------------- archive metadata


class _CffLoader(yaml.SafeLoader):
    """YAML as cffconvert reads CITATION.cff: dates stay strings."""


_CffLoader.add_constructor("tag:yaml.org,2002:timestamp", _CffLoader.construct_yaml_str)


def _cff_errors(cff: dict) -> list[str]:
    schema = json.loads(CFF_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    return [error.message for error in validator.iter_errors(cff)]


def _citation() -> dict:
    return yaml.load((ROOT / "CITATION.cff").read_text(), Loader=_CffLoader)


def test_citation_cff_is_valid_cff_1_2_0():
    cff = _citation()
    assert cff["cff-version"] == "1.2.0"
    assert _cff_errors(cff) == []
    broken = copy.deepcopy(cff)
    del broken["authors"]
    broken["date-released"] = "2026-13-45"
    errors = _cff_errors(broken)
    assert "'authors' is a required property" in errors
    assert "'2026-13-45' is not a 'date'" in errors


def test_zenodo_metadata_says_what_citation_cff_says():
    cff, zenodo = _citation(), json.loads((ROOT / ".zenodo.json").read_text())
    assert zenodo["title"] == cff["title"]
    assert zenodo["version"] == str(cff["version"])
    assert zenodo["license"] == cff["license"]
    assert zenodo["publication_date"] == cff["date-released"]
    assert datetime.date.fromisoformat(zenodo["publication_date"])
    assert zenodo["description"] == cff["abstract"]
    assert zenodo["keywords"] == cff["keywords"]
    names = [a.get("name") or f"{a['family-names']}, {a['given-names']}" for a in cff["authors"]]
    assert [c["name"] for c in zenodo["creators"]] == names
    related = {r["identifier"] for r in zenodo["related_identifiers"]}
    cited = {ref.get("doi") or ref.get("url") for ref in cff["references"]}
    assert cited == related and None not in cited
    assert all(r["relation"] == "references" for r in zenodo["related_identifiers"])
    assert len(zenodo["references"]) == len(cff["references"])


# --------------------------------------------------------------------------- rights


def _catalogue() -> list[tuple[Path, dict]]:
    return [
        (cat, entry)
        for cat in sorted((ROOT / "data").glob("*/datasets.yml"))
        for entry in yaml.safe_load(cat.read_text(encoding="utf-8"))["datasets"]
    ]


def _quoted_sources(path: Path) -> set[str]:
    import pandas as pd

    if not path.name.endswith((".csv", ".csv.gz")):
        return set()
    header = pd.read_csv(path, nrows=0, encoding_errors="replace").columns
    if "source_file" not in header:
        return set()
    column = pd.read_csv(path, usecols=["source_file"], dtype=str, encoding_errors="replace")
    return set(column["source_file"].dropna())


def test_every_dataset_states_its_licence_with_the_terms_of_what_it_quotes():
    catalogue = _catalogue()
    assert catalogue
    for cat, entry in catalogue:
        where = f"{cat.relative_to(ROOT)}: {entry.get('path')}"
        licence = entry.get("licence")
        assert isinstance(licence, str) and len(licence.strip()) >= 3, f"{where}: no licence"
        for source in _quoted_sources(ROOT / "data" / entry["path"]):
            if not re.fullmatch(r"\d{3}_[0-9a-f]{16}\.txt", source):
                continue  # not one of ../shared/sources/ (real data name their own source)
            assert source in SOURCE_TERMS, f"{where}: quotes {source}; add its terms here"
            assert SOURCE_TERMS[source] in licence, f"{where}: licence omits {SOURCE_TERMS[source]}"
        if entry["tier"] == "synthetic":
            assert licence.startswith("MIT"), f"{where}: synthetic data are MIT"
        publisher = f"{entry['source']} {entry['title']}"
        if re.search(r"NHS Digital|HSCIC|OHID|Fingertips|Open Government Licence", publisher):
            assert "Open Government Licence v3.0" in licence and OGL_ATTRIBUTION in licence, where


def test_the_licence_check_fails_for_an_entry_without_one(tmp_path):
    cat = tmp_path / "datasets.yml"
    entries = [dict(entry) for _, entry in _catalogue()[:1]]
    del entries[0]["licence"]
    cat.write_text(yaml.safe_dump({"datasets": entries}))
    from analysis.core.catalogue import load
    from analysis.core.datasets import DataError

    (tmp_path / "strand").mkdir()
    shutil.move(cat, tmp_path / "strand" / "datasets.yml")
    with pytest.raises(DataError, match="lacks \\['licence'\\]"):
        load(tmp_path)


def test_no_excerpt_comes_from_passages_under_the_non_commercial_government_licence():
    """McDonald et al. quote three passages under the NCGL v2.0 (lines 53, 64 and 845)."""
    import pandas as pd

    evidence = pd.read_csv(ROOT / "data" / "casestudy" / "coded" / "evidence.csv", dtype=str)
    for lines in evidence["source_lines"].dropna():
        for part in re.split(r"[;,]", lines):
            bounds = [int(n) for n in re.findall(r"\d+", part)]
            if bounds:
                low, high = bounds[0], bounds[-1]
                assert not any(low <= n <= high for n in (53, 64, 845)), lines


def _rights_patterns() -> list[str]:
    text = (ROOT / "book" / "rights.md").read_text(encoding="utf-8")
    table = text[text.index("## May I reuse this?") :]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return [p for row in rows for p in re.findall(r"`([^`]+)`", row.split("|")[1])]


def test_rights_page_answers_may_i_reuse_for_every_file_in_the_repository():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no list of the repository's files")
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    patterns = _rights_patterns()
    assert len(patterns) > 10
    uncovered = [f for f in files if not any(fnmatch.fnmatch(f, p) for p in patterns)]
    assert uncovered == [], "add these to the table in book/rights.md"


def test_rights_page_is_in_the_book_and_the_readme_has_a_rights_section():
    pipeline = yaml.safe_load((ROOT / "pipeline.yml").read_text())
    assert "rights" in pipeline["book"]["back"]
    readme = (ROOT / "README.md").read_text()
    assert "## Rights and licences" in readme
    section = readme[readme.index("## Rights and licences") :]
    for needle in ("MIT", "453-454", "line 10", OGL_ATTRIBUTION, "synthetic"):
        assert needle in section, needle


# --------------------------------------------------------------------------- pre-commit


def _run_hooks(cwd: Path, home: Path) -> subprocess.CompletedProcess:
    """``pre-commit run --all-files`` with this environment's tools first on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path, "PRE_COMMIT_HOME": str(home)},
        timeout=300,
    )


def test_pre_commit_hooks_pass_on_the_repository(tmp_path):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = _run_hooks(ROOT, tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    for hook in ("ruff check", "ruff format", "notebooks stored without outputs", "4 MiB"):
        assert re.search(rf"{re.escape(hook)}.*Passed", result.stdout), hook


def test_pre_commit_hooks_fail_naming_each_bad_file(tmp_path):
    import nbformat

    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    for name in (".pre-commit-config.yaml", "pyproject.toml", ".ci/check_notebooks_stripped.py"):
        shutil.copy(ROOT / name, repo / name)
    (repo / "unused.py").write_text("import os\n")
    (repo / "unformatted.py").write_text("x  =  1\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"})]
    nb.cells[0].execution_count = 1
    nbformat.write(nb, repo / "with_outputs.ipynb")
    (repo / "big.bin").write_bytes(b"0" * (4096 * 1024 + 1))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    result = _run_hooks(repo, tmp_path / "home")
    assert result.returncode != 0
    out = result.stdout
    assert "unused.py" in out and "F401" in out
    fmt = out[out.index("ruff format --check") : out.index("notebooks stored without")]
    assert "Failed" in fmt and "unformatted.py" in fmt and "unused.py" not in fmt
    assert "with_outputs.ipynb: stored with outputs" in out
    assert "big.bin" in out and "4097 KB" in out
    assert (repo / "unformatted.py").read_text() == "x  =  1\n"  # check only: nothing rewritten
    assert nbformat.read(repo / "with_outputs.ipynb", as_version=4).cells[0].outputs
