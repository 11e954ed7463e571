"""The mutation harness follows the code: every module is mutated or excluded with a reason,
each target's tests are found from the layout, and the registry names only what exists.

These are the cheap checks of tests/mutation.py (no mutant is run): they fail as soon as a
module is added, moved or renamed without its entry, not weeks later in the scheduled job.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import mutation
import mutation_kept
from mutation_targets import EXCLUDED, TARGETS

from analysis.paths import repo_root
from analysis.safeyaml import load_yaml

ROOT = repo_root()


def test_every_module_is_mutated_or_excluded_with_a_reason_and_names_only_what_exists():
    assert mutation.problems_in_registry(ROOT) == []


def _project(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def test_a_module_added_without_an_entry_is_named(tmp_path):
    root = _project(tmp_path, {"analysis/__init__.py": "", "analysis/core/extra.py": "x = 1\n"})
    problems = mutation.problems_in_registry(root)
    assert "analysis/core/extra.py: neither a mutation target nor excluded with a reason" in (
        problems
    )


def test_tests_are_found_by_mirror_name_and_by_every_spelling_of_an_import(tmp_path):
    root = _project(
        tmp_path,
        {
            "analysis/__init__.py": "",
            "analysis/core/__init__.py": "",
            "analysis/core/stats.py": "def f():\n    return 1\n",
            "analysis/core/other.py": "",
            "analysis/sub/__init__.py": "",
            "analysis/sub/moved.py": "",
            "tests/core/test_stats.py": "",
            "tests/core/test_stats_more.py": "",
            "tests/core/test_statsmodels_agree.py": "",
            "tests/x/test_a.py": "from analysis.core import stats\n",
            "tests/x/test_b.py": "import analysis.core.stats as s\n",
            "tests/x/test_c.py": "def test():\n    from analysis.core.stats import f\n",
            "tests/x/test_d.py": "from analysis.core import other\n",
            "tests/x/test_e.py": "from analysis import core\n",
            "tests/sub/test_moved.py": "",
        },
    )
    assert mutation.tests_of("analysis/core/stats.py", root) == [
        "tests/core/test_stats.py",
        "tests/core/test_stats_more.py",
        "tests/x/test_a.py",
        "tests/x/test_b.py",
        "tests/x/test_c.py",
    ]
    # A module moved into a sub-package finds its tests in the new mirror folder.
    assert mutation.tests_of("analysis/sub/moved.py", root) == ["tests/sub/test_moved.py"]


def test_a_split_module_mutates_every_function_once(tmp_path):
    name = next(n for n, t in TARGETS.items() if t.parts)
    target = TARGETS[name]
    module = mutation.module_name(target.source)
    runs = mutation.units(name, ROOT)
    globs = [g for _, part in runs for g in part]
    functions = mutation.functions_of(target.source, ROOT)
    assert sorted(globs) == sorted(mutation.mutant_glob(module, f) for f in functions)
    assert len(set(globs)) == len(globs)
    assert [part for part, _ in runs][-1] == mutation_kept.REST


def test_mutant_names_map_to_their_functions():
    assert mutation.function_of("analysis.core.stats.x_wilson_interval__mutmut_4") == (
        "wilson_interval"
    )
    assert mutation.function_of("analysis.compendium.pipeline.xǁPipelineǁupstream__mutmut_8") == (
        "Pipeline.upstream"
    )
    assert mutation.mutant_glob("a.b", "Pipeline.upstream") == "a.b.xǁPipelineǁupstream__mutmut_*"


def test_every_module_the_issue_lists_is_a_target_with_its_share():
    listed = {
        "analysis/core/stats.py": 0.90,
        "analysis/core/reproduction.py": 0.90,
        "analysis/core/verdicts.py": 0.90,
        "analysis/core/suppression.py": 0.90,
        "analysis/casestudy/qca.py": 0.90,
        "analysis/casestudy/minimise.py": 0.90,
        "analysis/compendium/cache.py": 0.85,
        "analysis/compendium/pipeline.py": 0.85,
        "analysis/parameters.py": 0.85,
        "analysis/indicators/qof.py": 0.85,
        "analysis/indicators/fingertips.py": 0.85,
    }
    shares = {t.source: t.target for t in TARGETS.values()}
    for source, share in listed.items():
        # A module moved into a sub-package keeps its entry under the new path.
        found = [s for s in shares if s.endswith("/" + source.rsplit("/", 1)[-1])]
        assert found, f"{source} is not mutated"
        assert shares[found[0]] >= share, source
    assert not set(shares) & set(EXCLUDED)


def test_the_scheduled_job_runs_make_mutation_and_keeps_its_report():
    workflow = load_yaml(ROOT / ".github" / "workflows" / "mutation.yml")
    triggers = workflow.get("on") or workflow.get(True)
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    steps = [step for job in workflow["jobs"].values() for step in job.get("steps", [])]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "make mutation" in runs and "--matrix" in runs
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert any("build/mutation/units/*.json" in str(s["with"]["path"]) for s in uploads)
    assert "tests/mutation.py --gather" in runs


def _fingerprint(name: str, part: str, text: str | None = None) -> str:
    source = ROOT / TARGETS[name].source
    return mutation_kept.fingerprint(name, part, source.read_text() if text is None else text)


def test_a_kept_result_is_stale_once_a_function_of_its_unit_changes(tmp_path):
    source = TARGETS["stats"].source
    text = (ROOT / source).read_text()
    summary = {"module": "stats", "part": "reml", "commit": "abc1234"}
    summary["fingerprint"] = _fingerprint("stats", "reml")
    (tmp_path / source).parent.mkdir(parents=True)
    # comments and layout are not code; another part's function is not this unit's
    (tmp_path / source).write_text("# a new comment\n\n" + text + "\n\ndef later():\n    pass\n")
    assert mutation_kept.stale(summary, tmp_path) is None
    assert mutation_kept.stale(summary | {"part": mutation_kept.REST}, tmp_path) is not None
    assert dict(mutation_kept.unit_functions("stats", ["reml_tau2"]))["reml"] == ["reml_tau2"]
    changed = text.replace("def reml_tau2(", "def reml_tau2(*_unused, ", 1)
    assert changed != text
    (tmp_path / source).write_text(changed)
    assert mutation_kept.stale(summary, tmp_path) == (
        "its functions changed since it ran at abc1234: run it again"
    )


def test_a_result_kept_without_a_fingerprint_is_compared_through_its_commit(tmp_path):
    summary = {"module": "spells", "part": "", "commit": "0" * 40}
    assert mutation_kept.stale(summary, ROOT) == f"kept at {'0' * 40}, which git does not know"
    committed = mutation_kept.source_at("HEAD", TARGETS["spells"].source, ROOT)
    assert committed is not None and "def " in committed
    # the fallback fingerprints the committed copy exactly as a new result would be
    assert mutation_kept.fingerprint("spells", "", committed) == _fingerprint(
        "spells", "", committed
    )


def test_the_gathered_report_fails_for_a_unit_that_missed_or_never_ran(monkeypatch, tmp_path):
    monkeypatch.setattr(mutation, "WORK", tmp_path)
    monkeypatch.setattr(mutation, "MUTMUT", tmp_path / "no-mutmut-here")
    kept = {
        "module": "spells",
        "part": "",
        "source": mutation.TARGETS["spells"].source,
        "mutants": 10,
        "killed": 9,
        "timeout": 0,
        "crashed": 0,
        "survived": 1,
        "no_tests": 0,
        "other": {},
        "equivalent": [],
        "score": 0.9,
        "target": 0.85,
        "failures": [],
        "not_killed": {"m": "survived"},
        "not_killed_lines": {"m": "x = None"},
        "seconds": 1.0,
        "cpu_seconds": 1.0,
        "commit": "abc1234",
        "fingerprint": _fingerprint("spells", ""),
    }
    mutation_kept.keep(tmp_path, "spells", kept)
    assert mutation.main(["--gather", "spells"]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "| spells | 10 | 9 | 1 | 0 | 0 | 0 | 90.0% | 85% | 1.0 | 1.0 | abc1234 |" in report
    assert mutation.main(["--gather", "spells", "layouts"]) == 1
    mutation_kept.keep(tmp_path, "spells", kept | {"score": 0.8})
    assert mutation.main(["--gather", "spells"]) == 1
    mutation_kept.keep(tmp_path, "spells", kept | {"fingerprint": "0" * 64})  # other code
    assert mutation.main(["--gather", "spells"]) == 1
    assert "stale: its functions changed since it ran at abc1234" in (
        (tmp_path / "report.md").read_text()
    )


def test_units_run_one_at_a_time_are_gathered_and_a_unit_never_run_is_named(tmp_path):
    kept = {"module": "stats", "part": "reml", "score": 0.95, "commit": "abc1234"}
    kept |= {"failures": [], "fingerprint": _fingerprint("stats", "reml")}
    mutation_kept.keep(tmp_path, "stats:reml", kept)
    assert (tmp_path / "units" / "stats-reml.json").is_file()
    chosen = [("stats", "reml"), ("stats", "tau2"), ("qca", None)]
    found, missing = mutation_kept.gathered(tmp_path, ROOT, chosen)
    assert found == [kept]
    assert missing == ["stats:tau2", "qca"]
    found, missing = mutation_kept.gathered(tmp_path, ROOT, [("stats", None)])
    assert found == [kept]
    assert missing == [f"stats:{part}" for part, _ in mutation.units("stats") if part != "reml"]


def test_a_memo_the_session_start_cannot_empty_is_named(tmp_path):
    source = "analysis/core/memo.py"
    _project(
        tmp_path,
        {
            source: """\
            import functools
            from functools import cache

            @cache
            def top(x):
                return x

            class Table:
                @functools.lru_cache(maxsize=8)
                def rows(self):
                    return 1

            def outer():
                @cache
                def inner():
                    return 2
                return inner
            """
        },
    )
    assert mutation.nested_memos(source, tmp_path) == [
        f"{source}:10: rows is memoised inside a class or function; tests/conftest.py cannot "
        "empty it between mutants",
        f"{source}:15: inner is memoised inside a class or function; tests/conftest.py cannot "
        "empty it between mutants",
    ]


def test_every_session_starts_with_the_package_memos_empty(mini):
    # mutmut forks each mutant's run from a process whose memos the unmutated code filled.
    import conftest

    from analysis.compendium import cache

    cache.package_digest(Path("notebooks/alpha.ipynb"))
    cache.file_digest(mini / "data" / "input.csv")
    assert cache._closure_digests.cache_info().currsize > 0
    assert cache._file_digest.cache_info().currsize > 0
    conftest.pytest_sessionstart(session=None)
    assert cache._closure_digests.cache_info().currsize == 0
    assert cache._file_digest.cache_info().currsize == 0


def test_a_decorated_function_doing_more_than_one_thing_in_a_target_is_named(tmp_path):
    source = mutation.TARGETS["spells"].source
    root = _project(
        tmp_path,
        {
            source: '''
                import functools

                @functools.cache
                def wrapped(x):
                    """Cached: one statement."""
                    return x

                @functools.cache
                def worker(x):
                    y = x + 1
                    return y

                class C:
                    @staticmethod
                    def mutated(x):
                        y = x
                        return y
                ''',
        },
    )
    assert mutation.unmutated_functions(source, root) == {"wrapped": 1, "worker": 2}
    problems = mutation.problems_in_registry(root)
    assert f"{source}::worker: decorated, so mutmut leaves its 2 statements unmutated; " in (
        "\n".join(problems)
    )
    assert not any("::wrapped" in p or "::mutated" in p for p in problems)


def test_a_fixture_shared_by_a_module_is_made_for_each_test_under_mutation(monkeypatch):
    from sharedscope import module_unless_mutating

    monkeypatch.delenv("MUTANT_UNDER_TEST", raising=False)
    assert module_unless_mutating("chapter", None) == "module"
    monkeypatch.setenv("MUTANT_UNDER_TEST", "stats")
    assert module_unless_mutating("chapter", None) == "function"


def _durations(tmp_path, mutant: str | None) -> dict[str, float]:
    """Per-phase durations pytest reports for one test whose fixture takes 0.3 s."""
    (tmp_path / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from mutationtiming import pytest_runtest_makereport  # noqa: F401\n"
    )
    (tmp_path / "test_slow_fixture.py").write_text(
        "import time, pytest\n"
        "@pytest.fixture\ndef chapter():\n    time.sleep(0.3)\n"
        "def test_reads_a_table(chapter):\n    pass\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MUTANT_UNDER_TEST"}
    if mutant is not None:
        env["MUTANT_UNDER_TEST"] = mutant
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--durations=0", "--durations-min=0", "-q", "test_slow_fixture.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    found = re.findall(r"^([0-9.]+)s (setup|call) ", run.stdout, flags=re.MULTILINE)
    return {phase: float(seconds) for seconds, phase in found}


def test_mutmut_times_a_test_with_its_set_up_while_it_gathers_statistics(tmp_path):
    """mutmut runs a mutant's tests fastest first by their recorded call time: a test whose
    fixture runs a chapter must not look instant and go first."""
    gathering = _durations(tmp_path, "stats")
    assert gathering["call"] >= 0.3
    assert _durations(tmp_path, None).get("call", 0.0) < 0.3


def test_mutmuts_timeout_leaves_room_for_pytests_start_but_not_minutes():
    """Set-up is in mutmut's estimate of a mutant's tests (tests/mutationtiming.py); the
    floor covers what is not (pytest's start and collection, teardown), so a mutant that
    hangs is stopped within a minute or so of its tests' usual time, not after minutes."""
    import tomllib

    tests = mutation.tests_of(TARGETS["real_chapter"].source)
    table = tomllib.loads(mutation._mutmut_table(TARGETS["real_chapter"], tests, []))
    config = table["tool"]["mutmut"]
    assert config["timeout_constant"] == mutation.TIMEOUT_FLOOR
    # a mutant whose tests take no time still gets (0 + floor) x multiplier seconds
    assert 30 <= config["timeout_constant"] * config["timeout_multiplier"] <= 60
