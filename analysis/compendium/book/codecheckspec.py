"""The checks of the CODECHECK configuration specification 1.0 that can be made offline.

The specification (https://codecheck.org.uk/spec/config/1.0/) and the register's validation
rules for it (``rules-1.0.yml`` of codecheckers/register, identifiers ``CC-CFG-*`` and
``CC-BUN-*``) say what a ``codecheck.yml`` must hold. :func:`check` runs those a file can be
checked for without the network (ORCID, DOI and repository look-ups are the register's) and
returns one :class:`Finding` per rule. Three rules can only be met by the codechecker who
signs the certificate: a named codechecker (CC-CFG-008, CC-CFG-009) and the published report
(CC-CFG-011). An unsigned configuration carries those fields as empty placeholders, and
:func:`problems` reports them apart (``awaiting``), never as met.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from analysis import safeyaml

SPEC_VERSIONS = (
    "https://codecheck.org.uk/spec/config/1.0/",
    "https://codecheck.org.uk/spec/config/1.0",
)
#: Rules only the signing codechecker can meet; an unsigned file leaves them as placeholders.
FOR_THE_CODECHECKER = ("CC-CFG-008", "CC-CFG-009", "CC-CFG-011")
_PLACEHOLDER = re.compile(r"FIXME|TODO|XXXXX")
_CERTIFICATE = re.compile(r"^\d{4}-\d{3}$")
_URL = re.compile(r"^https?://[^\s/]+\.[^\s/]+(/\S*)?$")


@dataclass(frozen=True)
class Finding:
    """One rule's outcome: ``ok``, or not with the reason."""

    rule: str
    severity: str
    ok: bool
    message: str


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def is_url(text: Any) -> bool:
    """Whether ``text`` is an http(s) URL (not a local path)."""
    return isinstance(text, str) and bool(_URL.match(text.strip()))


def check(path: Path) -> list[Finding]:
    """Every offline rule of specification 1.0 for the file at ``path``."""
    out: list[Finding] = []

    def rule(rule_id: str, severity: str, ok: bool, message: str) -> None:
        out.append(Finding(rule_id, severity, bool(ok), message))

    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
        config = safeyaml.load_text(text, str(path))
    except (UnicodeDecodeError, safeyaml.YamlError) as err:
        rule("CC-CFG-001", "error", False, f"not UTF-8 YAML: {err}")
        return out
    rule("CC-CFG-001", "error", isinstance(config, dict), "a YAML mapping")
    config = config if isinstance(config, dict) else {}
    body = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    first = next((line for line in body if not line.startswith("%")), "")
    rule("CC-CFG-002", "error", first.strip() == "---", "starts with the marker ---")
    rule("CC-CFG-003", "error", path.name == "codecheck.yml", "named codecheck.yml")
    manifest = config.get("manifest")
    rule("CC-CFG-004", "error", isinstance(manifest, list) and manifest, "a manifest list")
    entries = manifest if isinstance(manifest, list) else []
    files = [e.get("file") if isinstance(e, dict) else None for e in entries]
    rule("CC-CFG-005", "error", all(files), "every manifest item has a file")
    bad = [
        f
        for f in files
        if not f or PurePosixPath(f).is_absolute() or ".." in PurePosixPath(f).parts
    ]
    rule("CC-CFG-006", "error", not bad, f"paths relative to the file's folder: {bad[:3]}")
    missing = [f for f in files if f and not (path.parent / f).is_file()]
    rule("CC-BUN-001", "error", not missing, f"manifest files exist beside it: {missing[:3]}")
    rule(
        "CC-CFG-007",
        "info",
        all(isinstance(e, dict) and e.get("comment") for e in entries),
        "every manifest item has a comment",
    )
    checkers = config.get("codechecker")
    rule(
        "CC-CFG-008",
        "error",
        isinstance(checkers, list) and len(checkers) > 0,
        "a codechecker list with at least one entry",
    )
    checkers = checkers if isinstance(checkers, list) else []
    rule(
        "CC-CFG-009",
        "error",
        checkers and all(isinstance(c, dict) and c.get("name") for c in checkers),
        "every codechecker has a name",
    )
    rule("CC-CFG-011", "error", bool(config.get("report")), "the published report")
    report = str(config.get("report") or "")
    rule("CC-CFG-013", "error", not _PLACEHOLDER.search(report), "report is not a placeholder")
    rule("CC-CFG-014", "warning", "version" in config, "a version node")
    rule("CC-CFG-015", "warning", config.get("version") in SPEC_VERSIONS, "a known version")
    paper = config.get("paper") if isinstance(config.get("paper"), dict) else None
    rule("CC-CFG-016", "warning", paper is not None, "a paper node")
    paper = paper or {}
    rule("CC-CFG-017", "warning", bool(paper.get("title")), "paper.title")
    authors = paper.get("authors")
    rule("CC-CFG-018", "warning", isinstance(authors, list) and authors, "paper.authors listed")
    authors = authors if isinstance(authors, list) else []
    rule(
        "CC-CFG-019",
        "warning",
        all(isinstance(a, dict) and a.get("name") for a in authors),
        "every author has a name",
    )
    reference = paper.get("reference")
    rule("CC-CFG-021", "warning", bool(reference), "paper.reference")
    rule(
        "CC-CFG-022",
        "warning",
        not str(reference or "").lower().endswith(".pdf"),
        "paper.reference is not a bare PDF",
    )
    rule("CC-CFG-027", "info", is_url(reference), "paper.reference is a URL")
    placeholders = sorted({s for s in _strings(config) if _PLACEHOLDER.search(s)})
    rule("CC-CFG-023", "error", not placeholders, f"no FIXME/TODO/XXXXX: {placeholders[:3]}")
    rule("CC-CFG-024", "info", bool(config.get("summary")), "a summary")
    certificate = config.get("certificate")
    rule(
        "CC-CFG-026",
        "error",
        certificate in (None, "") or bool(_CERTIFICATE.match(str(certificate))),
        "certificate identifier YYYY-NNN",
    )
    repository = config.get("repository")
    repositories = repository if isinstance(repository, list) else [repository]
    rule(
        "CC-BUN-004",
        "error",
        bool(repository) and all(is_url(r) for r in repositories),
        f"the repository is a URL, never a local path: {repository!r}",
    )
    return out


def problems(path: Path) -> tuple[list[Finding], list[Finding]]:
    """The failed error-level rules: ``(broken, awaiting)``, where ``awaiting`` are those only
    the signing codechecker can meet (:data:`FOR_THE_CODECHECKER`)."""
    failed = [f for f in check(path) if not f.ok and f.severity == "error"]
    awaiting = [f for f in failed if f.rule in FOR_THE_CODECHECKER]
    return [f for f in failed if f.rule not in FOR_THE_CODECHECKER], awaiting
