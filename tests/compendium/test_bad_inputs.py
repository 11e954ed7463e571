"""The bad-input corpus (badinputs/cases.yml here): bad input fails clearly, losing nothing.

Each case asserts: the run fails (non-zero exit through the real CLI, or ``DataError`` from
the strand's reader), the message matches the expected one and names the file and line or
the parameter, and every previous output is byte-identical afterwards.

Data-file cases call the strand's reader directly on a corrupted copy of ``data/`` (running a
whole notebook adds nothing there); a few go through the CLI on a copy of the repository that
holds the real pipeline's previous runs. Pipeline, parameter, notebook and run cases go
through the CLI on the mini project after one good run. Independent CLI cases run a few at a
time to keep the corpus within about three minutes.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import functools
import gzip
import importlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import guardedrun
import miniproject
import nbformat
import pytest
import yaml

from analysis.core import catalogue
from analysis.core.datasets import DataError
from analysis.errors import CompendiumError
from analysis.files import sha256_file
from analysis.paths import data_dir, sources_dir

CORPUS = Path(__file__).parent / "badinputs" / "cases.yml"
CASES = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["cases"]
BY_ID = {case["id"]: case for case in CASES}
NETGUARD = guardedrun.NETGUARD
CLI = [sys.executable, "-m", "analysis.compendium.cli"]
HOLDER = ["run", "gamma", "-p", "sleep=60"]  # a run that holds the lock while a case acts
WORKERS = 3


# --------------------------------------------------------------------------- corruption


def _csv_line(row: list[str], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerow(row)
    return buffer.getvalue()[:-1]


def _each_row(text: str, change) -> str:
    lines = text.split("\n")
    out = [_csv_line(change(number, next(csv.reader([line])))) if line else line
           for number, line in enumerate(lines, start=1)]  # fmt: skip
    return "\n".join(out)


def _set_cell(text: str, line: int, column: str, value: str) -> str:
    lines = text.split("\n")
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[line - 1]]))
    row[header.index(column)] = value
    lines[line - 1] = _csv_line(row)
    return "\n".join(lines)


def _drop_column(text: str, column: str) -> str:
    index = next(csv.reader([text.split("\n", 1)[0]])).index(column)
    return _each_row(text, lambda _, row: row[:index] + row[index + 1 :])


def _edit_text(text: str, op: str, arg) -> str:
    lines = text.split("\n")
    if op == "empty":
        return ""
    if op == "keep_lines":
        return "\n".join(lines[:arg]) + "\n"
    if op == "delimiter":
        return "\n".join(
            _csv_line(next(csv.reader([line])), arg) if line else line for line in lines
        )
    if op == "drop_column":
        return _drop_column(text, arg)
    if op == "add_column":
        return _each_row(text, lambda n, row: [*row, arg["name"] if n == 1 else arg["value"]])
    if op == "set_cell":
        return _set_cell(text, arg["line"], arg["column"], arg["value"])
    if op == "duplicate_line":
        return text.rstrip("\n") + "\n" + lines[arg - 1] + "\n"
    if op == "append_line":
        return text.rstrip("\n") + "\n" + arg + "\n"
    if op == "truncate_bytes":
        return text.rstrip("\n")[:-arg]
    if op == "replace":
        assert arg["old"] in text, f"corpus error: {arg['old']!r} not in the file"
        return text.replace(arg["old"], arg["new"], 1)
    if op == "write":
        return arg
    raise ValueError(f"corpus error: unknown operation {op!r}")


def corrupt(path: Path, operations: list[dict]) -> None:
    """Apply a case's operations to ``path`` (text edits on the decompressed file)."""
    encoding, raw_cut = "utf-8", 0
    text = None
    for operation in operations:
        (op, arg), = operation.items()  # fmt: skip
        if op == "delete":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
            return
        if op == "cell_source":
            nb = nbformat.read(path, as_version=4)
            nb.cells[arg["cell"]].source = arg["source"]
            nbformat.write(nb, path)
            continue
        if op == "encode":
            encoding = arg
            continue
        if op == "truncate_bytes_raw":
            raw_cut = arg
            continue
        if text is None:
            raw = path.read_bytes()
            text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")
        text = _edit_text(text, op, arg)
    if text is not None or encoding != "utf-8":
        if text is None:
            raw = path.read_bytes()
            text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")
        data = text.encode(encoding)
        path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
    if raw_cut:
        path.write_bytes(path.read_bytes()[:-raw_cut])


# --------------------------------------------------------------------------- checks


def snapshot(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): sha256_file(p) for p in folder.rglob("*") if p.is_file()}


def outputs(build: Path) -> dict[str, str]:
    """Every file of a build folder by hash, except the pipeline manifest's timestamp.

    ``manifest.json`` is rewritten after every run (it records when); what it says about
    the runs is kept, as text, under the key ``manifest.json:notebooks``.
    """
    found = snapshot(build)
    if found.pop("manifest.json", None):
        notebooks = json.loads((build / "manifest.json").read_text())["notebooks"]
        found["manifest.json:notebooks"] = json.dumps(notebooks, sort_keys=True)
    return found


def assert_nothing_lost(
    before: dict[str, str], after: dict[str, str], changes: list[str] = ()
) -> None:
    """Every previous output is still there, byte-identical; a failure only adds failed-*.

    ``changes`` (regular expressions) name files the case itself damages on purpose (a
    notebook writing into another's run): the engine cannot prevent that, only detect it.
    """
    changed = sorted(
        k for k in before if after.get(k) != before[k] and not any(re.search(c, k) for c in changes)
    )
    assert not changed, f"previous outputs changed or removed: {changed[:10]}"
    added = sorted(set(after) - set(before))
    allowed = re.compile(r"^runs/[^/]+/failed-[^/]+/|^\.compendium\.lock$")
    unexpected = [k for k in added if not allowed.search(k)]
    assert not unexpected, f"unexpected new files after a failed run: {unexpected[:10]}"
    leftovers = [k for k in after if "/.tmp-" in k or "/.old-" in k]
    assert not leftovers, f"temporary folders left behind: {leftovers[:5]}"


def assert_message(case: dict, message: str) -> None:
    assert re.search(case["expect"], message, re.S), (
        f"{case['id']}: expected /{case['expect']}/ in:\n{message}"
    )
    for where in case.get("names", []):
        assert re.search(where, message), (
            f"{case['id']}: message does not name /{where}/:\n{message}"
        )


def _params(kind_filter) -> list:
    marks = []
    for case in CASES:
        if not kind_filter(case):
            continue
        extra = [pytest.mark.e2e] if case["project"] != "data" else []
        if case.get("xfail"):
            extra.append(pytest.mark.xfail(strict=True, reason=case["xfail"]))
        marks.append(pytest.param(case, id=case["id"], marks=extra))
    return marks


def test_corpus_is_well_formed():
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids)), "duplicated case ids"
    assert len(CASES) >= 30
    kinds = {case["kind"] for case in CASES}
    assert kinds == {"data", "config", "pipeline", "parameter", "notebook", "run"}
    strands = {case["target"].split("/")[0] for case in CASES if case["project"] == "data"}
    assert strands == {path.parent.name for path in catalogue.catalogue_files()}
    for case in CASES:
        assert {"id", "kind", "project", "expect"} <= set(case), case["id"]
        assert case.get("names"), f"{case['id']}: say where the message must point"
        re.compile(case["expect"])


# --------------------------------------------------------------------------- data files


def _reader(case: dict, file: Path):
    if "reader" not in case:
        entry = next(ds for ds in catalogue.load() if ds.path == case["target"])
        return entry.read
    module, _, name = case["reader"].partition(":")
    function = getattr(importlib.import_module(module), name)
    root = str(data_dir().parent)
    args = [a.replace("{file}", str(file)).replace("{root}", root) for a in case.get("args", [])]
    return lambda: function(*args)


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A copy of ``data/`` under a temporary COMPENDIUM_ROOT."""
    source = data_dir()
    shutil.copytree(source, tmp_path / "data")
    monkeypatch.setenv("COMPENDIUM_ROOT", str(tmp_path))
    return tmp_path / "data"


DATA_CASES = _params(lambda c: c["project"] == "data")
PRISTINE = sorted({(c["target"], c.get("reader", "")) for c in CASES if c["project"] == "data"})


@pytest.mark.parametrize(("target", "reader"), PRISTINE, ids=[f"{t}" for t, _ in PRISTINE])
def test_each_target_is_catalogued_and_reads_cleanly(data_copy, target, reader):
    """The control: unmodified, each corrupted file is the catalogued one and reads."""
    entry = next((ds for ds in catalogue.load() if ds.path == target), None)
    assert entry is not None, f"{target} is not in any datasets.yml"
    assert sha256_file(data_copy / target) == entry.sha256, f"{target}: sha256 differs"
    case = next(c for c in CASES if c.get("target") == target and c.get("reader", "") == reader)
    _reader(case, data_copy / target)()


@pytest.mark.parametrize("case", DATA_CASES)
def test_bad_data_file(data_copy, case):
    target = data_copy / case["target"]
    others = {k: v for k, v in snapshot(data_copy).items() if k != case["target"]}
    corrupt(target, case["mutate"])
    with pytest.raises(DataError) as info:
        _reader(case, target)()
    assert_message(case, str(info.value))
    after = {k: v for k, v in snapshot(data_copy).items() if k != case["target"]}
    assert after == others, "the reader changed other data files"


# --------------------------------------------------------------------------- configuration files

CONFIG_CASES = _params(lambda c: c["project"] == "config")


@pytest.mark.parametrize("case", CONFIG_CASES)
def test_bad_configuration_file(tmp_path, case):
    """A configuration file a reader takes (a layout mapping): it reads cleanly as shipped,
    and corrupted it is refused in one line naming the file, line and key, in bounded time.
    Only the file is copied (the readers take it by path); data it is used on is read in
    place."""
    target = tmp_path / case["target"]
    target.parent.mkdir(parents=True)
    shutil.copy2(data_dir().parent / case["target"], target)
    read = _reader(case, target)
    if not case.get("reads_after"):
        read()  # the control: the shipped file reads
    corrupt(target, case["mutate"])
    started = time.perf_counter()
    with pytest.raises(CompendiumError) as info:
        read()
    assert time.perf_counter() - started < 30, "the reader took unbounded time"
    assert_message(case, str(info.value))
    assert "\n" not in str(info.value), "the message is not one line"


# --------------------------------------------------------------------------- through the CLI


@dataclass
class Outcome:
    returncode: int
    stderr: str
    before: dict[str, str]
    after: dict[str, str]
    guard_log: str


@functools.cache
def package_snapshot() -> Path:
    """A copy of the ``analysis`` package, first on the runs' ``PYTHONPATH``.

    Cache keys include the package's code; a snapshot keeps edits made to the working tree
    while the corpus runs from making the previous runs stale.
    """
    folder = Path(tempfile.mkdtemp(prefix="corpus-package-"))
    atexit.register(shutil.rmtree, folder, True)
    source = Path(catalogue.__file__).parent
    shutil.copytree(source, folder / "analysis", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _env(root: Path, log: Path, package: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPENDIUM_")}
    paths = [str(NETGUARD), str(package), env.get("PYTHONPATH", "")]
    env.update(
        COMPENDIUM_ROOT=str(root),
        COMPENDIUM_BUILD=str(root / "build"),
        PYTHONPATH=os.pathsep.join(p for p in paths if p),
        NETGUARD_LOG=str(log),
    )
    if sources_dir().is_dir():
        env["COMPENDIUM_SOURCES"] = str(sources_dir())
    return env


def _kernels(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _start_holder(env: dict[str, str], cwd: Path, args: list[str] = HOLDER) -> subprocess.Popen:
    proc = subprocess.Popen(
        [*CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, cwd=cwd,
    )  # fmt: skip
    deadline = time.time() + 90
    while time.time() < deadline:
        if _kernels(proc.pid):
            time.sleep(2.0)  # let the kernel reach the sleeping cell
            return proc
        if proc.poll() is not None:
            raise AssertionError(f"the holding run ended early:\n{proc.stderr.read()}")
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the holding run's kernel did not start")


def _act(case: dict, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run a case's command (or signal a running one); return exit code and stderr.

    ``cwd`` matters: ``python -m`` puts it first on ``sys.path``, ahead of ``PYTHONPATH``.
    """
    action = case.get("action")
    if action is None:
        result = subprocess.run(
            [*CLI, *case["args"]], env=env, capture_output=True, text=True, timeout=300, cwd=cwd
        )
        return result.returncode, result.stderr + result.stdout  # `status` reports on stdout
    if action == "edit-during":
        # The case's run reads an input; it is edited and put back while the kernel runs.
        proc = _start_holder(env, cwd, case["args"])
        try:
            target = Path(env["COMPENDIUM_ROOT"]) / case["during"]
            original = target.read_bytes()
            target.write_bytes(original + b"999\n")
            time.sleep(0.5)
            target.write_bytes(original)
            _, stderr = proc.communicate(timeout=90)
            return proc.returncode, stderr
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
    proc = _start_holder(env, cwd)
    try:
        if action == "concurrent":
            second = subprocess.run(
                [*CLI, *case["args"]], env=env, capture_output=True, text=True, timeout=120,
                cwd=cwd,
            )  # fmt: skip
            os.killpg(proc.pid, signal.SIGINT)
            proc.communicate(timeout=60)
            return second.returncode, second.stderr.replace(str(proc.pid), f"{proc.pid}")
        if action == "sigkill-kernel":
            for kernel in _kernels(proc.pid):
                os.kill(kernel, signal.SIGKILL)
        elif action == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        elif action == "sigterm":
            os.kill(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=90)
        return proc.returncode, stderr
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def run_case(case: dict, template: Path, workdir: Path) -> Outcome:
    """Copy the project (with its previous runs), corrupt it, run the CLI, hash before/after."""
    root = workdir / "project"
    shutil.copytree(template, root, symlinks=True)
    log = workdir / "netguard.log"
    if case.get("mutate"):
        corrupt(root / case["target"], case["mutate"])
    before = outputs(root / "build")
    package = package_snapshot() if case["project"] == "mini" else root
    code, stderr = _act(case, _env(root, log, package), cwd=package if package == root else workdir)
    guard = log.read_text() if log.exists() else ""
    return Outcome(code, stderr, before, outputs(root / "build"), guard)


def check_outcome(case: dict, outcome: Outcome) -> None:
    expected = case.get("exit")
    if expected is None:
        assert outcome.returncode != 0, f"{case['id']}: exit 0\n{outcome.stderr}"
    else:
        assert outcome.returncode == expected, (
            f"{case['id']}: exit {outcome.returncode}, expected {expected}\n{outcome.stderr}"
        )
    assert_message(case, outcome.stderr)
    assert_nothing_lost(outcome.before, outcome.after, case.get("changes", []))
    assert outcome.guard_log == "", f"network use during the run:\n{outcome.guard_log}"


@pytest.fixture(scope="module")
def mini_template(tmp_path_factory) -> Path:
    """The mini project after one good run: the previous outputs every case must keep."""
    root = miniproject.create(tmp_path_factory.mktemp("mini-template") / "project")
    env = _env(root, root.parent / "netguard.log", package_snapshot())
    result = subprocess.run(
        [*CLI, "run"], env=env, capture_output=True, text=True, timeout=300, cwd=root
    )
    assert result.returncode == 0, result.stderr
    return root


MINI_BATCH = [c["id"] for c in CASES if c["project"] == "mini" and not c.get("action")]


@pytest.fixture(scope="module")
def mini_batch(request, mini_template, tmp_path_factory) -> dict[str, Outcome]:
    """The selected mini cases without signals, run a few at a time."""
    selected = {
        item.callspec.params["case"]["id"]
        for item in request.session.items
        if item.module is request.module
        and "case" in getattr(getattr(item, "callspec", None), "params", {})
    }
    wanted = [BY_ID[i] for i in MINI_BATCH if i in selected]
    base = tmp_path_factory.mktemp("mini-cases")

    def one(case: dict) -> tuple[str, Outcome]:
        workdir = base / case["id"]
        workdir.mkdir()
        return case["id"], run_case(case, mini_template, workdir)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return dict(pool.map(one, wanted))


@pytest.mark.parametrize("case", _params(lambda c: c["project"] == "mini" and not c.get("action")))
def test_bad_input_through_cli(case, mini_batch):
    check_outcome(case, mini_batch[case["id"]])


@pytest.mark.parametrize("case", _params(lambda c: c["project"] == "mini" and c.get("action")))
def test_interrupted_or_concurrent_run(case, mini_template, tmp_path):
    check_outcome(case, run_case(case, mini_template, tmp_path))


@pytest.fixture(scope="module")
def real_template(tmp_path_factory) -> Path:
    """A snapshot of the repository holding the real pipeline's previous runs (guarded run a)."""
    state = guardedrun.guarded_build(tmp_path_factory, "a")
    state.check()
    root = tmp_path_factory.mktemp("real-template") / "project"
    shutil.copytree(state.root, root, symlinks=True)
    for folder in ("runs", "sweeps"):  # the previous runs and the sweeps they read
        shutil.copytree(state.build / folder, root / "build" / folder, symlinks=True)
    shutil.copy2(state.build / "manifest.json", root / "build" / "manifest.json")
    return root


@pytest.mark.parametrize("case", _params(lambda c: c["project"] == "real"))
def test_bad_input_on_the_real_pipeline(case, real_template, tmp_path):
    outcome = run_case(case, real_template, tmp_path)
    check_outcome(case, outcome)
    if case["kind"] == "data":
        # Only the notebook reading the bad file ran; the others stayed cached.
        assert not re.findall(r"^executed ", outcome.stderr, re.M), outcome.stderr
