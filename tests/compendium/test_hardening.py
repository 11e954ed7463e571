"""The hardening mechanisms, one by one: atomic swaps and their recovery, one way to fail,
escaping, parameters checked by the notebooks themselves, bounded hashing, run integrity.

The bad-input corpus (badinputs/cases.yml) runs the same mechanisms through the real CLI.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import errors, markup, parameters
from analysis.compendium import atomic, cache
from analysis.compendium import pipeline as pl
from analysis.paths import resolve_output_dir

# --------------------------------------------------------------------------- swaps


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}


def test_swap_replaces_the_folder_and_leaves_nothing(tmp_path):
    final = tmp_path / "p-abc-123"
    final.mkdir()
    (final / "old.txt").write_text("old")
    new = atomic.private_folder(tmp_path, "p-abc-123")
    (new / "new.txt").write_text("new")
    atomic.swap_folder(new, final)
    assert _tree(final) == {"new.txt": "new"}
    assert atomic.leftovers(tmp_path.parent) == [] or not any(
        p.name.startswith((".tmp-", ".old-")) for p in tmp_path.iterdir()
    )


def test_recover_restores_a_dashed_parameter_set_under_its_own_name(tmp_path):
    """The folder set aside by a killed swap comes back under its full name (p-<hash>)."""
    runs = tmp_path / "runs" / "gamma"
    (runs / ".old-4242-p-28b9ca8a06").mkdir(parents=True)
    (runs / ".old-4242-p-28b9ca8a06" / "run.json").write_text("{}")
    (runs / ".tmp-4242-default-x1y2").mkdir()
    assert not atomic.consistent(tmp_path)
    done = atomic.recover(tmp_path)
    assert (runs / "p-28b9ca8a06" / "run.json").read_text() == "{}"
    assert sorted(p.name for p in runs.iterdir()) == ["p-28b9ca8a06"]
    assert len(done) == 2 and atomic.consistent(tmp_path)


def test_recover_runs_only_under_the_lock_and_a_second_command_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path))
    aside = tmp_path / "book" / ".old-99-html"
    aside.mkdir(parents=True)
    with atomic.build_lock("first"):
        assert (tmp_path / "book" / "html").is_dir() and not aside.exists()
        with pytest.raises(atomic.LockError, match=r"another run holds .*pid \d+.*: first"):
            with atomic.build_lock("second"):
                pass


def test_an_interrupt_inside_a_swap_is_deferred_and_reported_truthfully(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path))
    atomic.install_interrupt_handlers()
    final = tmp_path / "book" / "html"
    final.mkdir(parents=True)
    (final / "index.html").write_text("old")
    with pytest.raises(atomic.InterruptedRun, match="completed first; outputs are whole"):
        with atomic.build_lock("book"):
            new = atomic.private_folder(tmp_path, "book")
            (new / "index.html").write_text("new")
            with atomic.uninterruptible():
                os.kill(os.getpid(), 15)  # SIGTERM in the middle of the swap
                atomic.swap_folder(new, final)
    assert (final / "index.html").read_text() == "new"
    with pytest.raises(atomic.InterruptedRun, match="previous outputs are kept unchanged"):
        with atomic.build_lock("book"):
            os.kill(os.getpid(), 15)
    assert (final / "index.html").read_text() == "new"


# --------------------------------------------------------------------------- one way to fail


@pytest.mark.parametrize(
    ("error", "expected", "code"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/b/manifest.json"),
         r"/b/manifest\.json: no space left .*COMPENDIUM_BUILD", 2),
        (OSError(errno.EROFS, "Read-only file system", "/repo/build"),
         r"/repo/build: cannot write .*read-only checkout set COMPENDIUM_BUILD", 2),
        (errors.CompendiumError("data.csv: line 3: bad"), r"^error: data\.csv: line 3: bad$", 2),
        (KeyError("x"), r"internal error: KeyError: 'x' \(run again with --debug", 70),
    ],
)  # fmt: skip
def test_run_main_prints_one_line_and_exits_non_zero(error, expected, code, capsys):
    def main(argv):
        raise error

    assert errors.run_main(main, []) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert re.search(expected, err.strip()), err


def test_debug_shows_the_traceback(capsys):
    def main(argv):
        assert "--debug" not in argv
        raise ValueError("boom")

    assert errors.run_main(main, ["--debug"]) == 70
    assert "Traceback" in capsys.readouterr().err


ENTRY_POINTS = [
    # (arguments, use an empty project root, where the message must point)
    (["analysis.indicators.sources.fingertips", "/nonexistent/export.csv", "--out", "{tmp}"], False,
     r"fingertips\.yml|/nonexistent/export\.csv"),
    (["analysis.indicators.synthetic.panel", "--write", "--out", "/dev/null/panel"], False,
     r"/dev/null/panel"),
    (["analysis.core.catalogue"], True, r"datasets\.yml"),
    (["analysis.survey.reconstruction", "--write"], True, r"root/data/"),
    (["analysis.bench", "--root", "/nonexistent/root"], False, r"No such file"),
    (["analysis.indicators.synthetic.scaling", "analyse", "/nonexistent/panel.pickle"], False,
     r"/nonexistent/panel\.pickle"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "empty_root", "names"), ENTRY_POINTS, ids=[a[0][0] for a in ENTRY_POINTS]
)
def test_every_entry_point_fails_in_one_line(argv, empty_root, names, tmp_path):
    """A bad input to any ``python -m`` command: one line, non-zero, no traceback."""
    root = tmp_path / "root"
    (root / "data" / "broken").mkdir(parents=True)
    (root / "data" / "broken" / "datasets.yml").write_text("datasets: [unclosed\n")
    env = {**os.environ, "COMPENDIUM_BUILD": str(tmp_path / "b")}
    if empty_root:
        env["COMPENDIUM_ROOT"] = str(root)
    argv = [a.replace("{tmp}", str(tmp_path / "out")) for a in argv]
    result = subprocess.run(
        [sys.executable, "-m", *argv], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert re.search(names, result.stderr), result.stderr


# --------------------------------------------------------------------------- escaping


def test_escape_markdown_makes_data_literal():
    text = markup.escape_markdown("<script>alert(1)</script> *x* [a](javascript:1) {eval}`x`")
    assert "<" not in text and "&lt;script&gt;" in text
    assert "\\*x\\*" in text and "\\[a\\]" in text and "\\{eval\\}\\`x\\`" in text


def test_markdown_outputs_lose_raw_html():
    out = markup.neutralise_markdown("**Org** <img src=x onerror=alert(1)> </div> a < b")
    assert "<img" not in out and "</div" not in out
    assert "&lt;img" in out and "a < b" in out and "**Org**" in out


def test_html_outputs_lose_scripts_and_handlers_but_keep_tables():
    page = (
        '<style>.t{color:red}</style><table class="t"><tr><td onclick="x()">1 &amp; 2</td>'
        '<td><a href="javascript:alert(1)">l</a><a href="https://ok">k</a></td></tr></table>'
        "<script>alert('x')</script><iframe src=//evil></iframe>"
    )
    clean = markup.sanitise_html(page)
    assert "<script" not in clean and "alert" not in clean and "<iframe" not in clean
    assert "onclick" not in clean and "javascript:" not in clean
    assert '<table class="t">' in clean and "1 &amp; 2" in clean and 'href="https://ok"' in clean
    assert "<style>.t{color:red}</style>" in clean


def test_book_escapes_every_output(tmp_path):
    import nbformat

    from analysis.compendium.book.assemble import escape_outputs

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                "text/markdown": "Org <script>alert(1)</script>",
                "text/html": "<b onclick=1>x</b>",
            },
        )
    ]
    nb.cells = [cell]
    data = escape_outputs(nb).cells[0].outputs[0]["data"]
    assert data["text/markdown"] == "Org &lt;script>alert(1)&lt;/script>"
    assert data["text/html"] == "<b>x</b>"


# --------------------------------------------------------------------------- parameters


def _project(tmp_path, monkeypatch) -> Path:
    (tmp_path / "pipeline.yml").write_text(
        "notebooks:\n  nb:\n    title: N\n    source: notebooks/nb.ipynb\n    outputs: [t.csv]\n"
        "    parameters:\n      alpha: {type: float, default: 0.05, min: 0, max: 1}\n"
        '      sites: {type: "list[str]", default: [a], choices: [a, b]}\n'
    )
    monkeypatch.setenv("COMPENDIUM_ROOT", str(tmp_path))
    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path / "build"))
    return tmp_path


def test_a_hand_run_with_a_wrong_type_stops_at_the_first_cell(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch)
    namespace = {"alpha": "0.01", "sites": ["a"], "output_dir": ""}
    with pytest.raises(parameters.ParameterError) as info:
        parameters.check_parameters("nb", namespace)
    assert str(info.value) == (
        "notebook 'nb', parameter 'alpha' (float): expected a number, got '0.01'"
    )
    with pytest.raises(parameters.ParameterError, match=r"'c' is not one of \['a', 'b'\]"):
        parameters.check_parameters("nb", {"alpha": 0.1, "sites": ["c"], "output_dir": ""})
    assert not (tmp_path / "build").exists()


def test_a_hand_run_writes_to_its_own_parameter_set_folder(tmp_path, monkeypatch):
    root = _project(tmp_path, monkeypatch)
    default = {"alpha": 0.05, "sites": ["a"], "output_dir": ""}
    other = {"alpha": 0.01, "sites": ["a"], "output_dir": ""}
    parameters.check_parameters("nb", default)
    parameters.check_parameters("nb", other)
    assert default["output_dir"] == str(root / "build" / "manual" / "nb" / "default")
    assert other["output_dir"].startswith(str(root / "build" / "manual" / "nb" / "p-"))
    record = json.loads((Path(other["output_dir"]) / "run.json").read_text())
    assert record["parameters"] == {"alpha": 0.01, "sites": ["a"]}
    assert record["runner"].startswith("hand")
    assert not (root / "build" / "runs").exists()
    run_folder = root / "build" / "runs" / "nb" / "default"
    run_folder.mkdir(parents=True)
    monkeypatch.chdir(run_folder)  # where the pipeline starts the kernel
    piped = {"alpha": 0.01, "sites": ["b"], "output_dir": "."}
    assert parameters.check_parameters("nb", piped) == {"alpha": 0.01, "sites": ["b"]}
    assert piped["output_dir"] == "."


@pytest.mark.parametrize("output_dir", ["../../X", "/tmp", "build/manual/../../escape"])
def test_a_hand_run_may_write_only_under_the_build_folder(tmp_path, monkeypatch, output_dir):
    root = _project(tmp_path, monkeypatch)
    monkeypatch.chdir(root)
    namespace = {"alpha": 0.05, "sites": ["a"], "output_dir": output_dir}
    with pytest.raises(parameters.ParameterError, match=r"outside the build folder's runs/"):
        parameters.check_parameters("nb", namespace)
    with pytest.raises(ValueError, match=r"leave output_dir empty"):
        resolve_output_dir(output_dir, "nb")
    assert not (root / "build").exists() and not (root.parent / "X").exists()


def test_the_pipeline_and_the_notebooks_share_one_parameter_check():
    assert pl.coerce_value is parameters.coerce_value and pl.Parameter is parameters.Parameter


def test_each_notebook_checks_its_own_parameters_first():
    import nbformat

    for name, notebook in pl.load().notebooks.items():
        nb = nbformat.read(pl.repo_root() / notebook.source, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert f'check_parameters("{name}", globals())' in code[1].source, name


# --------------------------------------------------------------------------- path hashing


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("/dev/zero", r"is not a regular file or folder"),
        ("/proc", r"a system file, not data"),
        ("/proc/self/status", r"a system file, not data"),
    ],
)
def test_path_parameters_are_regular_files_or_folders(target, message):
    with pytest.raises((pl.PipelineError, ValueError), match=message):
        param = parameters.Parameter("data", "path", "")
        parameters.coerce_value(param, target)
        cache.file_digest(Path(target))


def test_hashing_a_folder_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "MAX_FOLDER_FILES", 5)
    for i in range(6):
        (tmp_path / f"{i}.csv").write_text(str(i))
    with pytest.raises(pl.PipelineError, match=r"more than 5 files"):
        cache.directory_digest(tmp_path)


# --------------------------------------------------------------------------- integrity


def test_integrity_names_each_modified_or_missing_file(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "a.csv").write_text("a\n1\n")
    (tmp_path / "b.png").write_bytes(b"png")
    manifest = {"files": cache.folder_hashes(tmp_path), "_folder": str(tmp_path)}
    assert set(manifest["files"]) == {"tables/a.csv", "b.png"}
    assert cache.integrity_problems(manifest) == []
    (tmp_path / "tables" / "a.csv").write_text("a\n2\n")
    (tmp_path / "b.png").unlink()
    assert cache.integrity_problems(manifest) == [
        f"{tmp_path / 'b.png'} is missing",
        f"{tmp_path / 'tables' / 'a.csv'} was modified",
    ]


# --------------------------------------------------------------------------- full disk, read-only


@pytest.fixture
def mini(tmp_path, monkeypatch):
    import miniproject

    root = miniproject.create(tmp_path / "project")
    monkeypatch.setenv("COMPENDIUM_ROOT", str(root))
    monkeypatch.setenv("COMPENDIUM_BUILD", str(root / "build"))
    return root


def test_read_only_checkout_says_to_build_elsewhere(mini, monkeypatch, capsys):
    from analysis.compendium import cli

    def refuse(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"{mini / 'build'}: cannot write or read here (Read-only file system)" in err
    assert "set COMPENDIUM_BUILD to a writable folder" in err


@pytest.mark.e2e
def test_full_disk_prints_the_notebooks_errors_then_what_to_do(mini, monkeypatch, capsys):
    from analysis.compendium import cli, runner

    def full(pipeline):
        raise OSError(errno.ENOSPC, "No space left on device", str(mini / "build/manifest.json"))

    monkeypatch.setattr(runner, "write_pipeline_manifest", full)
    assert cli.main(["run", "gamma", "-p", "fail=true"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "error: notebook 'gamma' failed in cell" in err
    assert "gamma was asked to fail" in err
    assert (
        "manifest.json: no space left on the device; free some space or set COMPENDIUM_BUILD" in err
    )
    assert err.index("gamma was asked to fail") < err.index("no space left")
    assert not list((mini / "build").rglob(".tmp-*"))


@pytest.mark.e2e
def test_plain_papermill_with_a_wrong_type_fails_in_the_first_code_cell(tmp_path):
    """A hand run (plain papermill, as JupyterLab would) stops in the check, not deep inside."""
    import papermill

    source = pl.repo_root() / "notebooks" / "reproduction.ipynb"
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(
            str(source), str(tmp_path / "out.ipynb"), parameters={"strands": "surveys"},
            kernel_name="python3", progress_bar=False,
        )  # fmt: skip
    assert info.value.ename == "ParameterError"
    assert info.value.evalue == (
        "notebook 'reproduction', parameter 'strands' (list[str]): "
        "expected a list (list[str]), got 'surveys'"
    )
    # the first code cell after the parameters (and papermill's injected ones)
    assert info.value.exec_count == 3
    assert info.value.source.startswith("from analysis.parameters import check_parameters")


def test_status_names_a_run_set_aside_by_an_interrupted_update(mini):
    from analysis.compendium import execute

    aside = mini / "build" / "runs" / "gamma" / ".old-4242-default"
    aside.mkdir(parents=True)
    plan = {p.notebook.name: p for p in execute.status(pl.load())}["gamma"]
    assert plan.reasons == [
        "never run",
        "an interrupted update left it in .old-4242-default; the next `compendium run` restores it",
    ]
    assert aside.is_dir()  # status changes nothing; recovery waits for the lock


def test_the_report_names_what_to_run_after_hand_runs_only(tmp_path, monkeypatch):
    from analysis.core import reproduction as rp

    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path))
    hand = tmp_path / "manual" / "surveys" / "default" / "tables"
    hand.mkdir(parents=True)
    (hand / "reproduction.csv").write_text("x\n")
    with pytest.raises(FileNotFoundError) as info:
        rp.load_checks({"surveys": "surveys:tables/reproduction.csv"})
    assert "run `compendium run surveys` first" in str(info.value)
    assert f"(hand runs in {tmp_path / 'manual' / 'surveys'} are not used)" in str(info.value)


def test_generated_pages_keep_roles_and_code_but_lose_raw_html():
    page = (
        "See {ref}`the data <data-x>` and `a<b>`.\n\n- **Title:** Evil <script>alert(1)</script>"
        "\n\n```yaml\nx: <kept>\n```\n\n```{raw} html\n<script>alert(2)</script>\n```\n"
    )
    out = markup.neutralise_markdown(page, keep_code=True)
    assert "{ref}`the data <data-x>`" in out and "`a<b>`" in out and "x: <kept>" in out
    assert "<script" not in out and out.count("&lt;script>") == 2


def test_notebooks_check_against_the_pipeline_file_the_command_was_given(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch)
    other = tmp_path / "other.yml"
    other.write_text(
        "notebooks:\n  nb:\n    title: N\n    source: notebooks/nb.ipynb\n    outputs: [t.csv]\n"
        "    parameters:\n      alpha: {type: int, default: 1}\n"
    )
    monkeypatch.setenv(parameters.PIPELINE_ENV, str(other))
    (tmp_path / "build" / "manual" / "nb").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "build" / "manual" / "nb")
    assert parameters.check_parameters("nb", {"alpha": 2, "output_dir": "."}) == {"alpha": 2}
