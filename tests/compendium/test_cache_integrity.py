"""A recorded run is fresh only while its files are those its ``run.json`` recorded, and the
digests and stamps behind that are of the right files.

Runs are recorded the way the runner records them (every file's sha256 under ``files``,
the declared outputs' under ``outputs``) without executing a notebook. Expected digests are
recomputed here with hashlib, expected stamps with ``os.stat``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from analysis.compendium import cache, execute
from analysis.compendium import pipeline as pl


@pytest.fixture(autouse=True)
def fresh_memo():
    cache._file_digest.cache_clear()
    yield
    cache._file_digest.cache_clear()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


FOUR = ("tables/d.csv", "tables/a.csv", "tables/c.csv", "tables/b.csv")


@pytest.fixture
def four(mini):
    """Notebook gamma declaring four outputs, recorded as the runner records a run."""
    gamma = pl.load().notebook("gamma")
    notebook = pl.Notebook(**{**gamma.__dict__, "outputs": FOUR})
    folder = pl.run_dir("gamma")
    for out in FOUR:
        write(folder / out, f"{out}\n")
    write(folder / "figures" / "f.png", "png")
    files = cache.folder_hashes(folder)
    manifest = {
        "cache": cache.cache_components(notebook, notebook.defaults),
        "outputs": {out: files[out] for out in FOUR},
        "files": files,
    }
    (folder / execute.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return notebook, folder


def test_an_output_edited_after_its_run_makes_the_run_stale_naming_three(four):
    notebook, folder = four
    assert execute.plan_notebook(notebook).reasons == []
    for out in FOUR:
        write(folder / out, "edited\n")
    named = "; ".join(f"{folder / out} was modified" for out in sorted(FOUR)[:3])
    assert execute.plan_notebook(notebook).reasons == [
        f"output differs from its run.json sha256: {named}"
    ]
    for out in FOUR:  # the recorded content back: fresh again, whatever the timestamps
        write(folder / out, f"{out}\n")
    assert execute.plan_notebook(notebook).reasons == []


def test_any_file_of_the_run_counts_not_only_the_declared_outputs(four):
    notebook, folder = four
    write(folder / "figures" / "f.png", "other")
    assert execute.plan_notebook(notebook).reasons == [
        f"output differs from its run.json sha256: {folder / 'figures' / 'f.png'} was modified"
    ]


def test_folder_hashes_are_sha256_of_every_file_but_the_manifest_and_hidden_files(tmp_path):
    write(tmp_path / "a.csv", "a")
    write(tmp_path / "sub" / "b.csv", "b")
    write(tmp_path / "run.json", "{}")
    write(tmp_path / ".reads.log", "x")
    write(tmp_path / "sub" / ".partial", "x")
    assert cache.folder_hashes(tmp_path) == {"a.csv": sha("a"), "sub/b.csv": sha("b")}
    assert list(cache.folder_hashes(tmp_path)) == ["a.csv", "sub/b.csv"]


def test_integrity_reads_the_outputs_when_a_manifest_records_no_files(tmp_path):
    write(tmp_path / "out.csv", "1")
    outputs = {"out.csv": sha("1")}
    assert cache.integrity_problems({"_folder": str(tmp_path), "outputs": outputs}) == []
    assert cache.integrity_problems({"_folder": str(tmp_path), "files": {}, "outputs": {}}) == []
    changed = {"out.csv": sha("2")}
    assert cache.integrity_problems({"_folder": str(tmp_path), "outputs": changed}) == [
        f"{tmp_path / 'out.csv'} was modified"
    ]
    # Recorded files win over recorded outputs when both are there.
    both = {"_folder": str(tmp_path), "files": outputs, "outputs": changed}
    assert cache.integrity_problems(both) == []


def _record(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        write(folder / name, text)
    manifest = {"files": {name: sha(text) for name, text in files.items()}}
    write(folder / execute.MANIFEST, json.dumps(manifest))


def test_tampered_runs_names_every_changed_file_of_every_completed_run(tmp_path):
    runs = tmp_path / "runs"
    _record(runs / "b" / "default", {"x.csv": "1"})
    _record(runs / "a" / "p-1", {"y.csv": "1", "z.csv": "1"})
    _record(runs / "a" / "failed-2", {"y.csv": "1"})  # a failed run is not served
    _record(runs / "a" / ".tmp-3", {"y.csv": "1"})  # nor one being written
    write(runs / "0" / "default" / execute.MANIFEST, "{not json")  # read first: runs go on
    assert cache.tampered_runs(tmp_path) == [f"{runs / '0' / 'default' / 'run.json'} is unreadable"]
    for folder in ("b/default", "a/p-1", "a/failed-2", "a/.tmp-3"):
        for name in ("x.csv", "y.csv", "z.csv"):
            if (runs / folder / name).exists():
                write(runs / folder / name, "2")
    assert cache.tampered_runs(tmp_path) == [
        f"{runs / '0' / 'default' / 'run.json'} is unreadable",
        f"{runs / 'a' / 'p-1' / 'y.csv'} was modified",
        f"{runs / 'a' / 'p-1' / 'z.csv'} was modified",
        f"{runs / 'b' / 'default' / 'x.csv'} was modified",
    ]


def test_tampered_runs_looks_in_the_build_folder_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path))
    _record(tmp_path / "runs" / "a" / "default", {"y.csv": "1"})
    assert cache.tampered_runs() == []
    (tmp_path / "runs" / "a" / "default" / "y.csv").unlink()
    assert cache.tampered_runs() == [f"{tmp_path / 'runs' / 'a' / 'default' / 'y.csv'} is missing"]


def _stamp(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def test_input_stamps_of_files_folders_patterns_and_path_parameters(mini):
    data = mini / "data"
    write(data / "folder" / "a.csv", "a")
    write(data / "folder" / "sub" / "b.csv", "b")
    write(data / "q" / "qof_1.yml", "1")
    write(data / "q" / "qof_2.yml", "2")
    write(data / "q" / "other.yml", "3")
    write(data / "extra.csv", "e")
    alpha = pl.load().notebook("alpha")
    notebook = pl.Notebook(
        **{
            **alpha.__dict__,
            "inputs": ("data/input.csv", "data/folder", "data/q/qof_*.yml"),
            "parameters": {**alpha.parameters, "src": pl.Parameter("src", "path", "")},
        }
    )
    expected = {
        f"{ref}:{path}": _stamp(path)
        for ref, path in (
            ("data/input.csv", data / "input.csv"),
            ("data/folder", data / "folder" / "a.csv"),
            ("data/folder", data / "folder" / "sub" / "b.csv"),
            ("data/q/qof_*.yml", data / "q" / "qof_1.yml"),
            ("data/q/qof_*.yml", data / "q" / "qof_2.yml"),
        )
    }
    assert cache.input_stamps(notebook, notebook.defaults) == expected  # empty path: no input
    given = notebook.defaults | {"src": "data/extra.csv"}
    stamps = cache.input_stamps(notebook, given)
    assert stamps == expected | {f"parameter:src:{data / 'extra.csv'}": _stamp(data / "extra.csv")}
    # A file written again with the same content still leaves a mark.
    before = stamps[f"parameter:src:{data / 'extra.csv'}"]
    os.utime(data / "extra.csv", ns=(before[1] + 10**9, before[1] + 10**9))
    assert cache.input_stamps(notebook, given) != stamps
    (data / "input.csv").unlink()
    assert cache.input_stamps(notebook, given)[f"data/input.csv:{data / 'input.csv'}"] == "missing"


def test_a_folder_is_hashed_up_to_its_byte_and_file_limits_inclusive(tmp_path, monkeypatch):
    write(tmp_path / "a.csv", "12345")
    write(tmp_path / "b.csv", "678")
    monkeypatch.setattr(cache, "MAX_HASHED_BYTES", 8)
    monkeypatch.setattr(cache, "MAX_FOLDER_FILES", 2)
    digest = hashlib.sha256()
    for name, text in (("a.csv", "12345"), ("b.csv", "678")):
        digest.update(name.encode())
        digest.update(sha(text).encode())
    assert cache.directory_digest(tmp_path) == digest.hexdigest()
    monkeypatch.setattr(cache, "MAX_HASHED_BYTES", 7)
    with pytest.raises(pl.PipelineError) as err:
        cache.directory_digest(tmp_path)
    assert str(err.value) == (
        f"{tmp_path}: more than 2 files or 7 bytes; "
        "a path parameter names one data file or a folder of data files"
    )
    monkeypatch.setattr(cache, "MAX_HASHED_BYTES", 8)
    monkeypatch.setattr(cache, "MAX_FOLDER_FILES", 1)
    with pytest.raises(pl.PipelineError, match=r"more than 1 files or 8 bytes"):
        cache.directory_digest(tmp_path)


def test_an_edit_is_seen_when_it_keeps_the_size_or_puts_the_timestamp_back(tmp_path):
    # Digests are memoised on (path, size, mtime): each must be part of the key.
    path = write(tmp_path / "a.csv", "1234")
    before = cache.folder_hashes(tmp_path)
    manifest = {"_folder": str(tmp_path), "files": before}
    assert cache.integrity_problems(manifest) == []
    stamp = path.stat().st_mtime_ns
    path.write_text("123456", encoding="utf-8")  # longer, with the old timestamp put back
    os.utime(path, ns=(stamp, stamp))
    assert cache.folder_hashes(tmp_path) == {"a.csv": sha("123456")}
    assert cache.integrity_problems(manifest) == [f"{path} was modified"]
    path.write_text("abcdef", encoding="utf-8")  # the same size, a new timestamp
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))
    assert cache.folder_hashes(tmp_path) == {"a.csv": sha("abcdef")}
    manifest = {"_folder": str(tmp_path), "files": {"a.csv": sha("123456")}}
    assert cache.integrity_problems(manifest) == [f"{path} was modified"]


def test_files_that_cannot_be_hashed_are_named_with_what_was_expected(tmp_path, monkeypatch):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(pl.PipelineError) as err:
        cache.file_digest(pipe)
    assert str(err.value) == (
        f"{pipe}: not a regular file or folder (a device, pipe or socket); "
        "expected a data file or a folder of data files"
    )
    under_a_file = write(tmp_path / "f.csv", "1") / "x"
    with pytest.raises(pl.PipelineError) as err:
        cache.file_digest(under_a_file)
    assert str(err.value) == f"{under_a_file}: cannot be read (Not a directory)"
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "gone").symlink_to(tmp_path / "nowhere")
    with pytest.raises(pl.PipelineError) as err:
        cache.directory_digest(folder)
    assert str(err.value) == f"{folder / 'gone'}: cannot be read (No such file or directory)"
    big = write(tmp_path / "big.csv", "12345")
    monkeypatch.setattr(cache, "MAX_HASHED_BYTES", 5)
    assert cache.file_digest(big) == sha("12345")  # the limit itself is allowed
    monkeypatch.setattr(cache, "MAX_HASHED_BYTES", 4)
    with pytest.raises(pl.PipelineError) as err:
        cache.file_digest(big)
    assert str(err.value) == f"{big}: 5 bytes, above the 4 hashed"


def test_package_changes_name_the_edited_modules_or_those_entering_or_leaving():
    recorded = {"analysis/a.py": "1", "analysis/b.py": "2", "analysis/c.py": "3"}
    reason = cache._package_reason
    assert reason(recorded, dict(recorded), source_changed=False) is None
    assert reason("an old key", recorded, source_changed=False) == "package code changed"
    edited = {**recorded, "analysis/a.py": "9", "analysis/c.py": "8"}
    assert reason(recorded, edited, False) == ("package code changed: analysis/a.py, analysis/c.py")
    # A module entering (or leaving) the import closure with no file edited.
    entering = {**recorded, "analysis/d.py": "4"}
    assert reason(recorded, entering, False) == "package code changed: analysis/d.py"
    leaving = {k: v for k, v in recorded.items() if k != "analysis/b.py"}
    assert reason(recorded, leaving, False) == "package code changed: analysis/b.py"
    # ... because the notebook's own imports changed: that is the source change already named.
    assert reason(recorded, entering, True) is None
    # Edited files are named, not the modules that moved with them.
    assert reason(recorded, {**edited, "analysis/d.py": "4"}, True) == (
        "package code changed: analysis/a.py, analysis/c.py"
    )


def test_a_module_entering_the_closure_makes_a_run_stale_unless_its_source_changed(mini):
    alpha = pl.load().notebook("alpha")
    components = cache.cache_components(alpha, alpha.defaults)
    grown = {**components, "package": {**components["package"], "analysis/extra.py": "0"}}
    manifest = {"cache": components}
    assert cache.stale_reasons(alpha, grown, manifest) == [
        "package code changed: analysis/extra.py"
    ]
    edited = {**grown, "source": "another"}
    assert cache.stale_reasons(alpha, edited, manifest) == ["source changed"]


def test_a_path_parameter_that_cannot_be_hashed_is_named_with_its_notebook(mini, tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    alpha = pl.load().notebook("alpha")
    src = pl.Parameter("src", "path", "")
    notebook = pl.Notebook(**{**alpha.__dict__, "parameters": {**alpha.parameters, "src": src}})
    with pytest.raises(pl.PipelineError) as err:
        cache.cache_components(notebook, notebook.defaults | {"src": str(pipe)})
    assert str(err.value) == (
        f"notebook 'alpha', parameter 'src' (path): {pipe}: not a regular file or folder "
        "(a device, pipe or socket); expected a data file or a folder of data files"
    )


def test_a_file_removed_between_its_stat_and_its_read_is_named(tmp_path, monkeypatch):
    path = write(tmp_path / "a.csv", "1")
    read = cache.sha256_file

    def removed_first(file):
        file.unlink()
        return read(file)

    monkeypatch.setattr(cache, "sha256_file", removed_first)
    with pytest.raises(pl.PipelineError) as err:
        cache.file_digest(path)
    assert str(err.value) == f"{path}: cannot be read (No such file or directory)"


def test_a_file_removed_while_inputs_are_stamped_leaves_the_others_stamped(mini, monkeypatch):
    data = mini / "data"
    first, second = write(data / "q" / "qof_1.yml", "1"), write(data / "q" / "qof_2.yml", "2")
    listed = cache.pattern_files

    def first_removed(ref):
        files = listed(ref)
        files[0].unlink()
        return files

    monkeypatch.setattr(cache, "pattern_files", first_removed)
    alpha = pl.load().notebook("alpha")
    notebook = pl.Notebook(**{**alpha.__dict__, "inputs": ("data/q/qof_*.yml",)})
    assert cache.input_stamps(notebook, notebook.defaults) == {
        f"data/q/qof_*.yml:{first}": "missing",
        f"data/q/qof_*.yml:{second}": _stamp(second),
    }
