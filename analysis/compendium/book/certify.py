"""A CODECHECK configuration (``codecheck.yml``) for the compendium, for a codechecker to sign.

Follows the CODECHECK configuration specification (https://codecheck.org.uk/spec/config/1.0/):
a ``manifest`` of every output file with a one-line comment, its path relative to the
file's own folder (the build folder, where the runs are), the ``paper`` (title, authors,
reference), the ``repository`` as a URL, a ``summary`` and the ``check_time``. It is what a
codechecker would verify and sign: ``codechecker`` and ``report`` are present as empty
placeholders for the codechecker to fill and ``certificate`` is unset, because the project
does not certify itself. Everything is read from the pipeline, the default runs' manifests,
the reproduction report's tables, ``CITATION.cff`` and the git remote (or the
``COMPENDIUM_REPOSITORY_URL`` setting, or ``repository-code`` in ``CITATION.cff``); a local
path is never written as the repository. :mod:`.codecheckspec` checks the written file
against the specification's rules.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from analysis import safeyaml
from analysis.compendium import pipeline as pl
from analysis.compendium.book import codecheckspec
from analysis.errors import CompendiumError
from analysis.files import sha256_file
from analysis.paths import build_dir, repo_root

SPEC_VERSION = "https://codecheck.org.uk/spec/config/1.0/"
#: Fields the specification requires of a configuration file, and of each part.
REQUIRED = {
    "version": str,
    "manifest": list,
    "paper": dict,
    "summary": str,
    "check_time": str,
}
REQUIRED_PAPER = ("title", "authors", "reference")


class CertifyError(CompendiumError, ValueError):
    """The configuration cannot be written: a run is missing or a required field is empty."""


def codecheck_path() -> Path:
    return build_dir() / "codecheck.yml"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _captions(executed: Path) -> dict[str, str]:
    """Figure name (``fig-x``) to the first sentence of its caption, from an executed notebook."""
    nb = _read_json(executed) or {}
    out = {}
    for cell in nb.get("cells", []):
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
        if figure.get("caption"):
            out[figure.get("name", "")] = figure["caption"].split(". ")[0].rstrip(".")
    return out


def manifest(pipeline: pl.Pipeline) -> list[dict[str, str]]:
    """Every declared output of every default run, with a one-line comment.

    Raises
    ------
    CertifyError
        Naming the notebook whose default run is missing or lacks a declared output.
    """
    from analysis.compendium.execute import MANIFEST, plan_notebook

    entries = []
    for name in pipeline.order():
        notebook = pipeline.notebook(name)
        folder = pl.run_dir(name)
        run = _read_json(folder / MANIFEST)
        if run is None:
            raise CertifyError(f"notebook {name!r} has no default run; run `compendium run`")
        # Only what is current and intact is certified: a stale run (its code, inputs or
        # parameters changed) or one whose files differ from its run.json is refused.
        reasons = plan_notebook(notebook).reasons
        if reasons:
            raise CertifyError(
                f"notebook {name!r} cannot be certified: its run is stale ({'; '.join(reasons)}); "
                f"run `compendium run {name}` first"
            )
        captions = list(_captions(folder / f"{name}.ipynb").values())
        figures = iter(captions)
        for output in notebook.outputs:
            path = folder / output
            if not path.is_file():
                raise CertifyError(f"{path}: declared output of {name!r} is missing")
            rel = path.relative_to(codecheck_path().parent)
            if output.startswith("figures/"):
                comment = next(figures, f"figure of the chapter '{notebook.title}'")
            else:
                rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
                comment = f"table of the chapter '{notebook.title}' ({rows} rows, CSV)"
            digest = sha256_file(path)  # hashed now: the certificate lists these bytes
            if digest != run["outputs"][output]:
                raise CertifyError(f"{path} differs from the sha256 in its run.json; run again")
            entries.append({"file": str(rel), "comment": f"{comment}; sha256 {digest[:12]}"})
    return entries


def _paper() -> dict[str, Any]:
    path = repo_root() / "CITATION.cff"
    try:
        citation = safeyaml.load_yaml(path)
    except safeyaml.YamlError as err:
        raise CertifyError(f"cannot read the citation: {err}") from None
    if not isinstance(citation, dict) or not citation.get("title") or not citation.get("authors"):
        raise CertifyError(f"{path}: needs 'title' and 'authors'")
    reproduced = [
        f"{ref['authors'][0]['family-names']} et al. ({ref['year']}) {ref['title']}"
        for ref in citation.get("references", [])
    ]
    return {
        "title": citation["title"],
        "authors": [
            {"name": a.get("name") or a.get("family-names", "")} for a in citation["authors"]
        ],
        "reference": f"{citation['title']}, version {citation.get('version', '')} "
        f"(CITATION.cff); checks the published figures of: " + "; ".join(reproduced),
    }


def _git(*args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=repo_root(), capture_output=True, text=True, check=False
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def remote_url(remote: str) -> str | None:
    """A git remote as an https URL (``git@host:owner/repo.git`` and ``ssh://`` forms
    converted), or None for a local path or anything else that is not a URL.

    >>> remote_url("git@github.com:owner/repo.git")
    'https://github.com/owner/repo'
    >>> remote_url("/srv/git/repo") is None
    True
    """
    remote = remote.strip()
    scp = re.match(r"^[\w.-]+@([\w.-]+):(?!/)(.+)$", remote)
    if scp:
        remote = f"https://{scp.group(1)}/{scp.group(2)}"
    remote = re.sub(r"^(ssh|git)://([\w.-]+@)?", "https://", remote)
    remote = re.sub(r"^(https?://)[^/@]+@", r"\1", remote)  # no credentials
    remote = remote.removesuffix(".git")
    return remote if codecheckspec.is_url(remote) else None


def repository_url() -> str | None:
    """The repository's URL: ``$COMPENDIUM_REPOSITORY_URL``, else ``repository-code`` of
    ``CITATION.cff``, else the git remote ``origin`` if it is a URL; None when none is."""
    setting = os.environ.get("COMPENDIUM_REPOSITORY_URL", "")
    try:
        citation = safeyaml.load_yaml(repo_root() / "CITATION.cff")
    except (OSError, safeyaml.YamlError):
        citation = None
    cited = citation.get("repository-code", "") if isinstance(citation, dict) else ""
    for candidate in (setting, str(cited or ""), _git("config", "--get", "remote.origin.url")):
        url = remote_url(candidate) if candidate else None
        if url:
            return url
    return None


def _summary(pipeline: pl.Pipeline) -> str:
    from analysis.compendium.book.collect import report_tables

    tables = report_tables(pipeline)
    if "kinds" not in tables:
        raise CertifyError("the reproduction report has no run: run `compendium run` first")
    kinds = tables["kinds"]
    overall = kinds[kinds["source_document"] == "all publications"]
    parts = [
        f"{int(r.checks)} {r.kind_label} ({int(r.agree)} agree, {int(r.disagree)} disagree)"
        for r in overall.itertuples(index=False)
    ]
    findings = tables.get("findings")
    found = ""
    if findings is not None and "class" in findings.columns:
        tension = int((findings["class"] == "tension").sum())
        found = (
            f" Findings about the source documents: {len(findings) - tension} inconsistencies "
            f"and {tension} tensions open to interpretation (not counted as inconsistencies)."
        )
    verdicts = tables.get("verdicts")
    judged = ""
    if verdicts is not None:
        whole = verdicts[verdicts["item"] == "whole publication"]
        label = "label" if "label" in whole.columns else "verdict"
        judged = (
            " Verdicts (AEA Data Editor's classification): "
            + "; ".join(
                f"{p}: {v}" for p, v in zip(whole["publication"], whole[label], strict=True)
            )
            + "."
        )
    commit = _git("rev-parse", "HEAD") or "an unrecorded commit"
    return (
        f"Every notebook of the compendium executed by papermill from pipeline.yml at commit "
        f"{commit}; the reproduction report's rows by kind of evidence (never summed): "
        + "; ".join(parts)
        + "."
        + found
        + judged
        + " Not signed: for a codechecker to verify and sign."
    )


def codecheck(pipeline: pl.Pipeline) -> dict[str, Any]:
    """The configuration as a mapping, validated with :func:`validate`."""
    written = (_read_json(build_dir() / "manifest.json") or {}).get("written")
    listed = manifest(pipeline)  # first: nothing is described unless every run stands
    url = repository_url()
    paper = _paper()
    if url:
        paper["reference"] = url
    config = {
        "version": SPEC_VERSION,
        "paper": paper,
        "manifest": listed,
        "codechecker": [{"name": "", "ORCID": ""}],
        "repository": url or "",
        "summary": _summary(pipeline),
        "check_time": _check_time(written),
        "report": "",
    }
    validate(config)
    return config


def _check_time(written: str | None) -> str:
    """The runs' time as the specification's ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    if not written:
        return "not run"
    match = re.match(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})", written)
    return f"{match.group(1)} {match.group(2)}" if match else written


def validate(config: dict[str, Any]) -> None:
    """Check the specification's required fields; raise :class:`CertifyError` naming the first
    missing or empty one."""
    for field, kind in REQUIRED.items():
        if not isinstance(config.get(field), kind) or not config[field]:
            raise CertifyError(f"codecheck.yml: field {field!r} is missing or empty")
    for field in REQUIRED_PAPER:
        if not config["paper"].get(field):
            raise CertifyError(f"codecheck.yml: field 'paper.{field}' is missing or empty")
    for i, entry in enumerate(config["manifest"]):
        if not entry.get("file") or not entry.get("comment"):
            raise CertifyError(f"codecheck.yml: manifest entry {i} needs 'file' and 'comment'")
    repository = config.get("repository", "")
    if not isinstance(repository, str) or (repository and not codecheckspec.is_url(repository)):
        raise CertifyError(
            f"codecheck.yml: repository {repository!r} is not a URL (a local path is never "
            "published); set COMPENDIUM_REPOSITORY_URL or repository-code in CITATION.cff"
        )


HEADER = """\
# CODECHECK configuration (https://codecheck.org.uk/spec/config/1.0/), written by
# `compendium certify`; unsigned. Manifest paths are relative to this file's folder.
# For the codechecker to fill: codechecker (name, ORCID) and report (the certificate's DOI).
"""


def write_codecheck(pipeline: pl.Pipeline) -> Path:
    """Write ``build/codecheck.yml`` and return its path; when the runs cannot be certified,
    an earlier configuration is removed, so none describes results that no longer stand.

    Raises
    ------
    CertifyError
        When a run cannot be certified, or the written file breaks a rule of the
        specification other than those only the signing codechecker can meet
        (:func:`.codecheckspec.problems`).
    """
    path = codecheck_path()
    try:
        config = codecheck(pipeline)
    except CertifyError:
        path.unlink(missing_ok=True)
        raise
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(HEADER + "---\n" + text, encoding="utf-8")
    broken, _ = codecheckspec.problems(path)
    broken = [f for f in broken if not (f.rule == "CC-BUN-004" and not config["repository"])]
    if broken:
        raise CertifyError(
            f"{path}: breaks the CODECHECK specification: "
            + "; ".join(f"{f.rule} {f.message}" for f in broken)
        )
    return path


def certificate_page(pipeline: pl.Pipeline) -> str:
    """The book page rendering ``codecheck.yml`` (written afresh from this build); a build
    of stale or altered runs gets a page saying why there is no configuration."""
    try:
        path = write_codecheck(pipeline)
    except CertifyError as err:
        return f"# Reproduction certificate (unsigned)\n\nNo configuration was written: {err}.\n"
    config = safeyaml.load_yaml(path)
    lines = [
        "# Reproduction certificate (unsigned)",
        "",
        "A configuration following the [CODECHECK specification]"
        f"({SPEC_VERSION}), written by `compendium certify` from this build. It lists every "
        "output file with a one-line comment and summarises the reproduction report. It is "
        "what an independent codechecker would verify and sign: the compendium does not "
        "sign it itself, so `codechecker` and `report` are empty placeholders for the "
        "codechecker to fill and no certificate number is assigned. Its manifest paths are "
        "relative to the file's own folder (the build folder).",
        "",
        f"- **Paper:** {config['paper']['title']}",
        "- **Repository:** "
        + (
            config["repository"]
            or "not set (no git remote URL; set `repository-code` in CITATION.cff or "
            "`COMPENDIUM_REPOSITORY_URL`)"
        ),
        f"- **Check time:** {config['check_time']}",
        f"- **Summary:** {config['summary']}",
        f"- **Manifest:** {len(config['manifest'])} files",
        "",
        "```yaml",
        path.read_text(encoding="utf-8").rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)
