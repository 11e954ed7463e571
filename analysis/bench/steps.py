"""What ``make bench`` measures: floors, our pipeline, independent notebooks and peers.

Each function runs real commands (``compendium``, papermill, ``jupyter nbconvert``,
``jupyter-book``) in a private copy of the project and returns their timings.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis import safeyaml
from analysis.bench.tools import (
    BenchError,
    Timed,
    cli,
    dependants,
    load_pipeline,
    project_env,
    timed,
    tool,
)
from analysis.files import sha256_file

# --------------------------------------------------------------------------- 1. floors


def empty_notebook(path: Path) -> Path:
    """A notebook with only a parameters cell (``output_dir = ""``)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cell = nbformat.v4.new_code_cell('output_dir = ""')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nbformat.write(nb, path)
    return path


KERNEL_FLOOR_SCRIPT = """
import json, sys, time
import papermill
source, target, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = []
for _ in range(repeat + 1):
    started = time.perf_counter()
    papermill.execute_notebook(source, target, parameters={"output_dir": "."},
                               kernel_name="python3", progress_bar=False, log_output=False)
    times.append(time.perf_counter() - started)
print(json.dumps(times[1:]))
"""


def kernel_floor(work: Path, env: dict[str, str], repeat: int) -> list[float]:
    """Seconds to run an empty notebook through papermill (start, execute, stop a kernel).

    Measured in one process after a discarded warm-up, as the runner does (papermill is
    imported once per run).
    """
    source = empty_notebook(work / "empty.ipynb")
    result = timed(
        [
            sys.executable,
            "-c",
            KERNEL_FLOOR_SCRIPT,
            str(source),
            str(work / "out.ipynb"),
            str(repeat),
        ],
        env,
        cwd=work,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- 2. our pipeline


@dataclass
class Workspace:
    """A private copy of the project and a scratch folder for build folders."""

    root: Path
    scratch: Path
    names: list[str] = field(default_factory=list)
    upstream: dict[str, list[str]] = field(default_factory=dict)
    counter: int = 0

    def build(self, label: str) -> Path:
        self.counter += 1
        return self.scratch / f"{label}-{self.counter}"

    def env(self, build: Path) -> dict[str, str]:
        return project_env(self.root, build)


def pipeline_order(root: Path, env: dict[str, str]) -> list[str]:
    """Notebook names in run order, as the project's own pipeline module orders them."""
    script = "from analysis.compendium import pipeline as pl; print('\\n'.join(pl.load().order()))"
    return timed([sys.executable, "-c", script], env).stdout.split()


def cold_run(ws: Workspace, jobs: int) -> tuple[Timed, Path]:
    """``compendium run --jobs N`` into a fresh build folder."""
    build = ws.build(f"cold-j{jobs}")
    result = timed(cli("run", "--jobs", str(jobs)), ws.env(build))
    failed = {n: s for n, s in result.statuses().items() if s != "executed"}
    if failed:
        raise BenchError(f"cold run did not execute every notebook: {failed}")
    return result, build


def noop_runs(ws: Workspace, build: Path, repeat: int) -> list[Timed]:
    """``compendium run`` on a complete build folder: everything must be cached."""
    runs = [timed(cli("run"), ws.env(build)) for _ in range(repeat)]
    for run in runs:
        if set(run.statuses().values()) != {"cached"}:
            raise BenchError(f"no-op rerun executed something: {run.statuses()}")
    return runs


PREFERENCE = ("choices", "int", "float", "list", "bool")


def changed_value(param: dict[str, Any]) -> tuple[int, Any]:
    """A valid value other than the default, with its preference (lower first), or None.

    Choices and numbers are preferred; a boolean comes last (flags such as ``fail`` may
    exist to make a notebook stop).
    """
    kind, default = param["type"], param["default"]
    choices, low, high = param.get("choices"), param.get("min"), param.get("max")
    value, how = None, kind
    if kind == "bool":
        value = not default
    elif kind.startswith("list["):
        value, how = (
            (default[:-1] if isinstance(default, list) and len(default) > 1 else None),
            "list",
        )
    elif choices:
        value, how = next((c for c in choices if c != default), None), "choices"
    elif kind == "int":
        value = default + 1 if high is None or default + 1 <= high else default - 1
    elif kind == "float":
        value = (default + high) / 2 if high is not None else (default * 1.1 or 0.1)
        value = value if low is None or value >= low else None
    if value is None or how not in PREFERENCE:
        return None
    return PREFERENCE.index(how), value


def choose_change(raw: dict[str, Any], compute: dict[str, float]) -> tuple[str, str, Any]:
    """The parameter to change: on the notebook with the least compute (then by
    :data:`PREFERENCE`); a boolean only when nothing else can change."""
    candidates = []
    for rank, name in enumerate(sorted(compute, key=compute.get)):
        for pname, param in (raw["notebooks"][name].get("parameters") or {}).items():
            found = changed_value(param)
            if found is not None:
                candidates.append((found[0], rank, name, pname, found[1]))
    if not candidates:
        raise BenchError("no notebook has a parameter the benchmark can change")
    last = PREFERENCE.index("bool")
    _, _, name, pname, value = min(candidates, key=lambda c: (c[0] == last, c[1], c[0]))
    return name, pname, value


def parse_change(spec: str) -> tuple[str, str, Any]:
    """``NOTEBOOK:NAME=VALUE`` (the value read as YAML)."""
    match = re.fullmatch(r"([^:=]+):([^=]+)=(.*)", spec)
    if not match:
        raise BenchError(f"--change {spec!r}: expected NOTEBOOK:NAME=VALUE")
    return match.group(1), match.group(2), safeyaml.load_text(match.group(3), f"--change {spec}")


def set_default(root: Path, notebook: str, name: str, value: Any) -> None:
    """Rewrite the copy's ``pipeline.yml`` with one parameter default changed."""
    raw = load_pipeline(root)
    raw["notebooks"][notebook]["parameters"][name]["default"] = value
    text = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    (root / "pipeline.yml").write_text(text, encoding="utf-8")


def rewrite_parameter(path: Path, name: str, value: Any) -> None:
    """Set ``name = value`` in a notebook's parameters cell (the two must agree)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            pattern = re.compile(rf"^{re.escape(name)}\s*=.*$", re.M)
            cell["source"] = pattern.sub(f"{name} = {value!r}", source)
    path.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")


def parameter_change_runs(
    ws: Workspace, build: Path, change: tuple[str, str, Any], repeat: int
) -> list[dict[str, Any]]:
    """Alternate one default between the new value and the original; run the whole pipeline.

    Each run must execute exactly the changed notebook and its dependants.
    """
    notebook, name, value = change
    original = load_pipeline(ws.root)["notebooks"][notebook]["parameters"][name]["default"]
    expected = dependants(ws.upstream, notebook)
    runs = []
    try:
        for i in range(repeat):
            set_default(ws.root, notebook, name, value if i % 2 == 0 else original)
            result = timed(cli("run"), ws.env(build))
            executed = {n for n, s in result.statuses().items() if s == "executed"}
            runs.append(
                {
                    "seconds": result.seconds,
                    "executed": sorted(executed),
                    "only_changed": executed == expected,
                }
            )
    finally:
        set_default(ws.root, notebook, name, original)
    return runs


# --------------------------------------------------------------------------- synthetic notebooks

BUSY_CELL = """\
import time
from analysis.paths import resolve_output_dir
out = resolve_output_dir(output_dir, "{name}")
started = time.process_time()
while time.process_time() - started < seconds:
    pass
(out / "tables").mkdir(exist_ok=True)
(out / "tables" / "done.csv").write_text("notebook\\n{name}\\n")
"""


def independent_project(root: Path, count: int, seconds: float) -> Path:
    """A project of ``count`` independent notebooks, each burning ``seconds`` of CPU."""
    import nbformat

    (root / "notebooks").mkdir(parents=True)
    (root / "data").mkdir()
    notebooks = {}
    for i in range(count):
        name = f"busy{i:02d}"
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        params = nbformat.v4.new_code_cell(f'seconds = {seconds!r}\noutput_dir = ""')
        params.metadata["tags"] = ["parameters"]
        nb.cells = [params, nbformat.v4.new_code_cell(BUSY_CELL.format(name=name))]
        nbformat.write(nb, root / "notebooks" / f"{name}.ipynb")
        notebooks[name] = {
            "title": name,
            "source": f"notebooks/{name}.ipynb",
            "timeout": 600,
            "parameters": {"seconds": {"type": "float", "default": seconds, "min": 0}},
            "outputs": ["tables/done.csv"],
        }
    raw = {"book": {"title": "Independent notebooks", "front": ["intro"]}, "notebooks": notebooks}
    (root / "pipeline.yml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return root


def speedup_runs(root: Path, scratch: Path, cores: int, repeat: int) -> dict[str, list[float]]:
    """Cold runs of a project with ``--jobs 1`` and ``--jobs cores``, interleaved."""
    times: dict[str, list[float]] = {"serial": [], "parallel": []}
    for i in range(repeat):
        for label, jobs in (("serial", 1), ("parallel", cores)):
            build = scratch / f"{label}-{i}"
            env = project_env(root, build, isolate=False)
            times[label].append(timed(cli("run", "--jobs", str(jobs)), env).seconds)
    return times


# --------------------------------------------------------------------------- 3. peers


def peer_notebooks(ws: Workspace, build: Path, folder: Path) -> list[Path]:
    """Copies of the notebooks whose ``output_dir`` is the pipeline's run folder in ``build``.

    A user running them by hand would edit the parameters cell so downstream notebooks find
    their inputs where the pipeline puts them; that is what these copies do.
    """
    folder.mkdir(parents=True, exist_ok=True)
    raw = load_pipeline(ws.root)
    paths = []
    for name in ws.names:
        target = folder / f"{name}.ipynb"
        shutil.copy2(ws.root / raw["notebooks"][name]["source"], target)
        rewrite_parameter(target, "output_dir", str(build / "runs" / name / "default"))
        paths.append(target)
    return paths


def with_sweeps(ws: Workspace, command: list[str]) -> list[str]:
    """``command``, preceded by a serial run of every sweep the notebooks read.

    The peers have no notion of a sweep; a user running the notebooks their way would first
    run the sweep's batches one after the other, as ``compendium sweep NAME --serial`` does.
    """
    raw = load_pipeline(ws.root)
    sweeps = dict.fromkeys(s for n in ws.names for s in raw["notebooks"][n].get("sweeps") or [])
    if not sweeps:
        return command
    first = [shlex.join([*cli("sweep", name, "--serial")]) + " >/dev/null" for name in sweeps]
    return ["sh", "-c", " && ".join([*first, "exec " + shlex.join(command)])]


PAPERMILL_LOOP = """
import json, sys
import papermill
for source, target, folder in json.loads(sys.argv[1]):
    papermill.execute_notebook(source, target, parameters={"output_dir": folder},
                               kernel_name="python3", progress_bar=False)
"""


def papermill_loop(ws: Workspace) -> Timed:
    """A plain sequential loop over the notebooks with the papermill Python API."""
    build = ws.build("papermill")
    jobs = []
    raw = load_pipeline(ws.root)
    for name in ws.names:
        folder = build / "runs" / name / "default"
        folder.mkdir(parents=True)
        source = ws.root / raw["notebooks"][name]["source"]
        jobs.append([str(source), str(folder / f"{name}.ipynb"), str(folder)])
    command = [sys.executable, "-c", PAPERMILL_LOOP, json.dumps(jobs)]
    return timed(with_sweeps(ws, command), ws.env(build))


def nbconvert_run(ws: Workspace) -> Timed:
    """``jupyter nbconvert --to notebook --execute`` over the notebooks, in order."""
    build = ws.build("nbconvert")
    sources = peer_notebooks(ws, build, build / "sources")
    command = [
        tool("jupyter"),
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "--output-dir",
        str(build / "executed"),
        "--ExecutePreprocessor.timeout=1800",
        "--ExecutePreprocessor.kernel_name=python3",
        *map(str, sources),
    ]
    return timed(with_sweeps(ws, command), ws.env(build), cwd=build)


def book_source(ws: Workspace, build: Path, mode: str) -> Path:
    """A Jupyter Book source of the notebooks with execution turned on (``cache``/``force``)."""
    source = build / "book-src"
    chapters = peer_notebooks(ws, build, source / "chapters")
    (source / "intro.md").write_text("# Benchmark book\n\nThe compendium's notebooks.\n")
    bib = ws.root / "book" / "references.bib"
    config: dict[str, Any] = {
        "title": "Benchmark",
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": mode, "timeout": 1800},
        "sphinx": {"config": {"suppress_warnings": ["mystnb.unknown_mime_type"]}},
    }
    if bib.exists():
        shutil.copy2(bib, source / "references.bib")
        config["bibtex_bibfiles"] = ["references.bib"]
    toc = {
        "format": "jb-book",
        "root": "intro",
        "chapters": [{"file": f"chapters/{p.stem}"} for p in chapters],
    }
    (source / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (source / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    return source


def jupyter_book_runs(ws: Workspace, mode: str, repeat: int) -> tuple[list[float], list[float]]:
    """Cold builds (fresh output) and rebuilds (same output folder) of the notebooks' book."""
    cold, rerun = [], []
    for _ in range(repeat):
        build = ws.build(f"jb-{mode}")
        source = book_source(ws, build, mode)
        command = with_sweeps(
            ws, [tool("jupyter-book"), "build", str(source), "--path-output", str(build / "out")]
        )
        cold.append(timed(command, ws.env(build), cwd=build).seconds)
        if mode == "cache":
            rerun.append(timed(command, ws.env(build), cwd=build).seconds)
    return cold, rerun


# --------------------------------------------------------------------------- 5. more runs
# Book rebuilds, the REAL networks chapter and the England-scale analysis. The strand's
# workers run as commands: nothing here imports a strand.

REAL_WORKER = "analysis.indicators.networks.real_bench"
ENGLAND_WORKER = "analysis.indicators.synthetic.scaling"
ENGLAND_SHAPE = (1_263, 49)  # every PCN of 2021-22 x its QOF achievement indicators


def touch_chapter(build: Path, name: str, mark: int) -> Path:
    """Append a markdown cell to a run's executed notebook and record its new sha256 in the
    run's ``run.json``, as a rerun would (the book refuses a run whose files differ)."""
    folder = build / "runs" / name / "default"
    executed = folder / f"{name}.ipynb"
    document = json.loads(executed.read_text(encoding="utf-8"))
    document["cells"].append(
        {"cell_type": "markdown", "id": f"bench-{mark}", "metadata": {},
         "source": f"Benchmark edit {mark}."}
    )  # fmt: skip
    executed.write_text(json.dumps(document, indent=1), encoding="utf-8")
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    record.setdefault("files", {})[executed.name] = sha256_file(executed)
    (folder / "run.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return executed


def book_rebuilds(env: dict[str, str], build: Path, chapter: str, repeat: int) -> dict:
    """``compendium book`` with nothing changed, then after one chapter changed; seconds."""
    out: dict[str, Any] = {"chapter": chapter, "noop": [], "one_chapter": []}
    for _ in range(repeat):
        out["noop"].append(timed(cli("book"), env).seconds)
    for i in range(repeat):
        touch_chapter(build, chapter, i)
        out["one_chapter"].append(timed(cli("book"), env).seconds)
    return out


def real_chapter_runs(repeat: int, env: dict[str, str]) -> dict[str, list[dict]]:
    """The REAL networks chapter's two workers, each in ``repeat`` fresh processes."""
    out: dict[str, list[dict]] = {"panel": [], "chapter": []}
    for _ in range(repeat):
        for step in out:
            result = timed([sys.executable, "-m", REAL_WORKER, step], env)
            out[step].append(json.loads(result.stdout))
    return out


def england_runs(repeat: int, work: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """Every PCN against England on every indicator, ``repeat`` times, each in a fresh
    process on one core (the ``england`` worker of :mod:`analysis.indicators.synthetic.scaling`)."""
    work.mkdir(parents=True, exist_ok=True)
    runs = []
    for i in range(repeat):
        command = [sys.executable, "-m", ENGLAND_WORKER, "england", str(work / f"england-{i}"),
                   *map(str, ENGLAND_SHAPE)]  # fmt: skip
        runs.append(json.loads(timed(command, env).stdout))
    return runs
