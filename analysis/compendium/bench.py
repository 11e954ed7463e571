"""Benchmarks: the compendium's pipeline against the usual ways of running notebooks (issue 8).

``python -m analysis.compendium.bench`` (``make bench``) measures in one run, side by side:

1. floors: kernel start-up (an empty notebook through papermill) and the pipeline floor, the
   kernel start-ups plus each notebook's own compute divided over the cores (never less than
   the longest chain of dependent notebooks);
2. our pipeline: cold run, no-op rerun, rerun after changing one parameter of one notebook
   (its default in ``pipeline.yml``), serial against ``--jobs`` equal to the cores, and the
   same serial/parallel pair on synthetic independent notebooks of equal length;
3. the same notebooks run the ways users would otherwise: a plain sequential papermill
   loop, ``jupyter nbconvert --execute`` and ``jupyter-book build`` with execution on (cache
   and force modes);
4. the indicator analysis (:mod:`analysis.indicators.panel`,
   :mod:`analysis.indicators.methods`) on synthetic national panels of growing size: time and
   peak memory, each size in a fresh process.

The machine is shared and noisy, so every timing is the median of ``--repeat`` runs and the
results are read as ratios. Everything runs in a private copy of the repository (with its own
``analysis`` package on ``PYTHONPATH``, so edits made meanwhile do not leak in) and private
build folders; ``build/runs`` is never touched. The results go to
``build/bench/results.json`` in the shape the book's Performance page reads:
``{"summary": markdown, "tables": {section: [row, ...]}}`` plus the raw measurements.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis.compendium.benchreport import median, report
from analysis.files import atomic_path
from analysis.paths import build_dir, repo_root, sources_dir

FULL_SIZES = (1_000, 7_000, 30_000)
QUICK_SIZES = (700, 1_400)
COPY_IGNORE = (
    "build",
    ".venv",
    ".git",
    "__pycache__",
    ".ipynb_checkpoints",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "*.egg-info",
    "_build",
)
STATUS_LINE = re.compile(r"^(executed|cached|failed|skipped)\s+(\S+)", re.M)


class BenchError(RuntimeError):
    """A benchmark step failed; the message says which command and why."""


# --------------------------------------------------------------------------- project copies


def project_files(source: Path) -> list[Path]:
    """The project's files: tracked and untracked-but-not-ignored (git), else a filtered walk."""
    if (source / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=source,
            capture_output=True,
            check=True,
        ).stdout.decode()
        return sorted(source / p for p in listed.split("\0") if p and (source / p).is_file())
    ignore = shutil.ignore_patterns(*COPY_IGNORE)
    files = []
    for folder, dirs, names in os.walk(source):
        skipped = ignore(folder, dirs + names)
        dirs[:] = [d for d in dirs if d not in skipped]
        files += [Path(folder) / n for n in names if n not in skipped]
    return sorted(files)


def copy_project(source: Path, dest: Path) -> Path:
    """Copy the project's files (no build/, .venv/ or .git/) to ``dest``; returns ``dest``."""
    source, dest = Path(source).resolve(), Path(dest)
    for file in project_files(source):
        target = dest / file.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)
    return dest


def project_env(root: Path, build: Path, isolate: bool = True) -> dict[str, str]:
    """Environment for a run of the project at ``root`` into ``build``.

    With ``isolate`` the copy's own ``analysis`` package comes first on ``PYTHONPATH`` (the
    CLI and every kernel import it), so concurrent edits to the original do not leak in.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPENDIUM_")}
    env["COMPENDIUM_ROOT"], env["COMPENDIUM_BUILD"] = str(root), str(build)
    if sources_dir().is_dir():
        env["COMPENDIUM_SOURCES"] = str(sources_dir())
    if isolate and (root / "analysis").is_dir():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    return env


# --------------------------------------------------------------------------- timing


@dataclass
class Timed:
    """One timed command."""

    seconds: float
    returncode: int
    stdout: str = ""
    stderr: str = ""

    def statuses(self) -> dict[str, str]:
        """``{notebook: executed|cached|failed|skipped}`` from ``compendium run`` output."""
        return {name: status for status, name in STATUS_LINE.findall(self.stderr)}


def timed(command: list[str], env: dict[str, str], cwd: Path | None = None) -> Timed:
    """Run ``command``; raise :class:`BenchError` with its output if it fails.

    The working directory defaults to the project's root: ``python -m``/``-c`` put the
    working directory first on ``sys.path``, so running from elsewhere could import another
    copy of ``analysis`` than the project's.
    """
    cwd = cwd or Path(env.get("COMPENDIUM_ROOT") or tempfile.gettempdir())
    started = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        tail = (result.stderr or result.stdout)[-2000:]
        raise BenchError(f"{' '.join(command[:4])} ... exited {result.returncode}:\n{tail}")
    return Timed(seconds, result.returncode, result.stdout, result.stderr)


def cli(*args: str) -> list[str]:
    """The ``compendium`` command line, run with this interpreter."""
    return [sys.executable, "-m", "analysis.compendium.cli", *args]


def tool(name: str) -> str:
    """A console script installed beside this interpreter (``jupyter``, ``jupyter-book``)."""
    path = Path(sys.executable).with_name(name)
    return str(path) if path.exists() else name


# --------------------------------------------------------------------------- pipeline facts


def load_pipeline(root: Path) -> dict[str, Any]:
    """The raw ``pipeline.yml`` of a project copy."""
    return yaml.safe_load((root / "pipeline.yml").read_text(encoding="utf-8"))


def upstream_of(raw: dict[str, Any]) -> dict[str, list[str]]:
    """Each notebook's upstream notebooks (from ``<notebook>:<output>`` inputs)."""
    return {
        name: sorted({ref.split(":", 1)[0] for ref in nb.get("inputs") or [] if ":" in ref})
        for name, nb in raw["notebooks"].items()
    }


def dependants(upstream: dict[str, list[str]], name: str) -> set[str]:
    """``name`` and every notebook downstream of it."""
    found, frontier = {name}, [name]
    while frontier:
        current = frontier.pop()
        for other, ups in upstream.items():
            if current in ups and other not in found:
                found.add(other)
                frontier.append(other)
    return found


def notebook_compute(executed: Path) -> float:
    """Seconds spent in an executed notebook's cells (papermill's per-cell durations)."""
    cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    durations = [(c.get("metadata", {}).get("papermill", {}) or {}).get("duration") for c in cells]
    return float(sum(d for d in durations if d))


def compute_by_notebook(build: Path, names: list[str]) -> dict[str, float]:
    """Own compute of every notebook of a completed default run."""
    return {n: notebook_compute(build / "runs" / n / "default" / f"{n}.ipynb") for n in names}


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
    return match.group(1), match.group(2), yaml.safe_load(match.group(3))


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
    return timed([sys.executable, "-c", PAPERMILL_LOOP, json.dumps(jobs)], ws.env(build))


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
    return timed(command, ws.env(build), cwd=build)


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
        command = [tool("jupyter-book"), "build", str(source), "--path-output", str(build / "out")]
        cold.append(timed(command, ws.env(build), cwd=build).seconds)
        if mode == "cache":
            rerun.append(timed(command, ws.env(build), cwd=build).seconds)
    return cold, rerun


# --------------------------------------------------------------------------- 4. scaling

SCALING_STEPS = (
    "overdispersion_table",
    "compare_to_national",
    "trend_models",
    "practice_variation",
    "variation_trend",
    "qof_single_points",
    "summary_table",
    "summary_counts",
    "performance_scores",
    "association_tests",
    "truth_vs_estimate",
    "truth_summary",
)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scaling_generate(n_practices: int, pickle_path: Path) -> dict[str, Any]:
    """Worker: generate a panel, pickle it; time and peak memory of the generation."""
    import pickle

    from analysis.indicators import panel

    base = peak_rss_mb()
    started = time.perf_counter()
    generated, truth = panel.generate_panel(n_practices=n_practices)
    seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    with open(pickle_path, "wb") as handle:
        pickle.dump((generated, truth), handle, protocol=pickle.HIGHEST_PROTOCOL)
    return {
        "seconds": seconds,
        "peak_mb": peak,
        "extra_mb": peak - base,
        "observations": len(generated.observations),
    }


@contextlib.contextmanager
def step_timers(module: Any, names: tuple[str, ...], into: dict[str, float]) -> Iterator[None]:
    """Time calls of ``module.<name>`` made through the module (as ``run_analysis`` does)."""
    originals = {n: getattr(module, n) for n in names if hasattr(module, n)}

    def wrap(name: str, function: Callable) -> Callable:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                into[name] = into.get(name, 0.0) + time.perf_counter() - started

        return timed_call

    for name, function in originals.items():
        setattr(module, name, wrap(name, function))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(module, name, function)


def scaling_analyse(pickle_path: Path) -> dict[str, Any]:
    """Worker: load a pickled panel; time and peak memory of the default indicator analysis."""
    import pickle

    from analysis.indicators import methods as indicators

    with open(pickle_path, "rb") as handle:
        generated, truth = pickle.load(handle)
    base = peak_rss_mb()
    steps: dict[str, float] = {}
    started = time.perf_counter()
    selection = indicators.select(
        generated.observations, generated.catalogue, generated.organisations
    )
    data = indicators.prepare(
        generated.observations, generated.membership, generated.catalogue, selection
    )
    steps["select_and_prepare"] = time.perf_counter() - started
    with step_timers(indicators, SCALING_STEPS, steps):
        indicators.run_analysis(
            data, generated.catalogue, generated.organisations, selection, truth=truth
        )
    seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    return {"seconds": seconds, "peak_mb": peak, "extra_mb": peak - base, "steps": steps}


def scaling_runs(sizes: tuple[int, ...], repeat: int, work: Path, env: dict[str, str]):
    """Each size in fresh processes: generation, then analysis; medians over ``repeat``."""
    results = []
    for size in sizes:
        runs = []
        for i in range(repeat):
            pickle_path = work / f"panel-{size}-{i}.pickle"
            worker = [sys.executable, "-m", "analysis.compendium.bench", "--worker"]
            gen = json.loads(timed([*worker, "generate", str(size), str(pickle_path)], env).stdout)
            ana = json.loads(timed([*worker, "analyse", str(pickle_path)], env).stdout)
            pickle_path.unlink(missing_ok=True)
            runs.append({"generate": gen, "analyse": ana})
        results.append({"n_practices": size, "runs": runs})
    return results


def worker_main(argv: list[str]) -> int:
    """``--worker generate N PICKLE`` or ``--worker analyse PICKLE``: print JSON."""
    if argv[0] == "generate":
        print(json.dumps(scaling_generate(int(argv[1]), Path(argv[2]))))
    elif argv[0] == "analyse":
        print(json.dumps(scaling_analyse(Path(argv[1]))))
    else:
        raise BenchError(f"unknown worker {argv[0]!r}")
    return 0


# --------------------------------------------------------------------------- the whole bench


@dataclass
class Settings:
    """What to measure and how often."""

    repeat: int = 3
    sizes: tuple[int, ...] = FULL_SIZES
    busy_seconds: float = 2.0
    sections: tuple[str, ...] = ("floors", "pipeline", "parallel", "peers", "scaling")
    change: str | None = None
    cores: int = os.cpu_count() or 1
    quick: bool = False


def measure(source: Path, scratch: Path, settings: Settings) -> dict[str, Any]:
    """Every measurement; returns raw results (seconds, statuses, errors)."""
    ws = Workspace(copy_project(source, scratch / "project"), scratch)
    env = ws.env(scratch / "probe")
    ws.names = pipeline_order(ws.root, env)
    ws.upstream = upstream_of(load_pipeline(ws.root))
    raw: dict[str, Any] = {"notebooks": ws.names, "upstream": ws.upstream, "errors": []}
    raw["load"] = [os.getloadavg()[0]]

    def attempt(key: str, function: Callable[[], Any]) -> Any:
        try:
            raw[key] = function()
        except (BenchError, OSError, ValueError, KeyError) as err:
            raw["errors"].append(f"{key}: {err}")
            raw[key] = None
        raw["load"].append(os.getloadavg()[0])
        return raw[key]

    if "floors" in settings.sections:
        work = scratch / "floor"
        work.mkdir()
        attempt("kernel_floor", lambda: kernel_floor(work, env, settings.repeat))
    if "pipeline" in settings.sections:
        pipe = attempt("pipeline", lambda: measure_pipeline(ws, settings))
        if pipe:
            attempt("book", lambda: measure_book(ws, pipe["builds"]))
            attempt("change", lambda: measure_change(ws, pipe, settings))
    if "parallel" in settings.sections:
        attempt("independent", lambda: measure_independent(scratch, settings))
    if "peers" in settings.sections:
        attempt("peers", lambda: measure_peers(ws, settings))
    if "scaling" in settings.sections:
        work = scratch / "scaling"
        work.mkdir()
        scale_env = scaling_env(ws)
        attempt("scaling", lambda: scaling_runs(settings.sizes, settings.repeat, work, scale_env))
    return raw


def measure_pipeline(ws: Workspace, settings: Settings) -> dict[str, Any]:
    """Cold runs (parallel and serial) and no-op reruns; keeps the parallel build folders."""
    out: dict[str, Any] = {"cold": [], "serial": [], "compute": [], "builds": []}
    for _ in range(settings.repeat):
        result, build = cold_run(ws, settings.cores)
        out["cold"].append(result.seconds)
        out["compute"].append(compute_by_notebook(build, ws.names))
        out["builds"].append(str(build))
        out["serial"].append(cold_run(ws, 1)[0].seconds)
    out["noop"] = [run.seconds for run in noop_runs(ws, build, settings.repeat)]
    return out


def measure_book(ws: Workspace, builds: list[str]) -> list[float]:
    """``compendium book`` (HTML from the executed notebooks, no execution) per cold build."""
    return [timed(cli("book"), ws.env(Path(build))).seconds for build in builds]


def measure_change(ws: Workspace, pipe: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """One parameter default changed (alternately back) and the whole pipeline rerun."""
    compute = {n: median([c[n] for c in pipe["compute"]]) for n in ws.names}
    change = parse_change(settings.change) if settings.change else None
    change = change or choose_change(load_pipeline(ws.root), compute)
    runs = parameter_change_runs(ws, Path(pipe["builds"][-1]), change, settings.repeat)
    return {
        "notebook": change[0],
        "parameter": change[1],
        "value": change[2],
        "expected": sorted(dependants(ws.upstream, change[0])),
        "runs": runs,
    }


def scaling_env(ws: Workspace) -> dict[str, str]:
    """Where the panel generator finds the indicator catalogue: the copy, else this package."""
    if (ws.root / "data" / "indicators").is_dir():
        return ws.env(ws.scratch / "scaling-build")
    return project_env(Path(__file__).resolve().parent.parent, ws.scratch / "scaling-build", False)


def measure_independent(scratch: Path, settings: Settings) -> dict[str, Any]:
    """Serial against parallel on 2 x cores synthetic notebooks of equal CPU time."""
    count = 2 * settings.cores
    root = independent_project(scratch / "independent", count, settings.busy_seconds)
    times = speedup_runs(root, scratch / "independent-builds", settings.cores, settings.repeat)
    return {"notebooks": count, "busy_seconds": settings.busy_seconds, **times}


def measure_peers(ws: Workspace, settings: Settings) -> dict[str, Any]:
    """The usual ways: papermill loop, nbconvert, jupyter-book cache and force."""
    out: dict[str, Any] = {"papermill": [], "nbconvert": []}
    for _ in range(settings.repeat):
        out["papermill"].append(papermill_loop(ws).seconds)
        out["nbconvert"].append(nbconvert_run(ws).seconds)
    out["jb_cache_cold"], out["jb_cache_rerun"] = jupyter_book_runs(ws, "cache", settings.repeat)
    out["jb_force"], _ = jupyter_book_runs(ws, "force", settings.repeat)
    return out


def write_results(results: dict[str, Any], path: Path) -> Path:
    """Write the results JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def run_bench(source: Path, out: Path, settings: Settings, keep: Path | None = None) -> dict:
    """Measure everything in a scratch folder and write ``out``; returns the results."""
    scratch = Path(tempfile.mkdtemp(prefix="compendium-bench-", dir=keep))
    try:
        raw = measure(source, scratch, settings)
        results = report(raw, settings.cores, settings.repeat)
        results["settings"] = settings.__dict__
        write_results(results, out)
        return results
    finally:
        if keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, small panels (smoke run)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per measurement (3)")
    parser.add_argument("--root", type=Path, default=None, help="project to measure (this one)")
    parser.add_argument(
        "--out", type=Path, default=None, help="results file (build/bench/results.json)"
    )
    parser.add_argument("--sizes", default=None, help="panel sizes, e.g. 1000,7000,30000")
    parser.add_argument(
        "--only",
        default=None,
        help="comma-separated sections: floors,pipeline,parallel,peers,scaling",
    )
    parser.add_argument("--change", default=None, help="parameter to change: NOTEBOOK:NAME=VALUE")
    parser.add_argument("--keep", type=Path, default=None, help="keep scratch folders under this")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    settings = (
        Settings(repeat=1, sizes=QUICK_SIZES, busy_seconds=0.5, quick=True)
        if args.quick
        else Settings()
    )
    if args.repeat:
        settings.repeat = max(1, args.repeat)
    if args.sizes:
        settings.sizes = tuple(int(s) for s in args.sizes.split(","))
    if args.only:
        settings.sections = tuple(s.strip() for s in args.only.split(","))
    settings.change = args.change
    return settings


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker_main(args.worker)
    settings = settings_from(args)
    out = args.out or build_dir() / "bench" / "results.json"
    results = run_bench((args.root or repo_root()).resolve(), out, settings, args.keep)
    print(results["summary"])
    for row in results["tables"].get("Targets", []):
        print(f"  {row['result']:7} {row['target']}: {row['measured']}")
    print(f"results: {out}")
    return 1 if results["raw"]["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
