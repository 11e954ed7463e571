"""What ``make mutation`` mutates, what it leaves out and why (read by tests/mutation.py).

:data:`TARGETS` holds every module of ``analysis/`` in which a silent error changes a
number, a verdict or whether a run is fresh, with the share of its mutants the tests must
kill. Every other module of the package is in :data:`EXCLUDED` with the reason it is not
mutated; tests/test_mutation_targets.py fails when a module is in neither, so a module added
to the package is mutated or excluded on purpose, never forgotten.

A module's tests are not listed here: tests/mutation.py finds them from the layout (the
module's mirror test folder and every test file that imports it). :data:`SLOW_TESTS` names
the few tests found that way which are too slow to run once per mutant, each with why
leaving it out does not hide a mutant; a name that no longer exists fails the run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """One module to mutate and the share of its mutants its tests must kill.

    ``parts`` splits a module whose run would exceed ``budget`` (CPU seconds of one mutmut
    run) into runs of some of its functions each (``"name"``, ``"Class.method"`` or
    ``"Class.*"``); the functions no part names form a last part, ``rest``, so no function
    is ever left out. ``serial``: the module's tests edit files inside the package copy (and
    restore them), so two mutant workers at once would see each other's edits.
    """

    source: str
    target: float
    decides: str
    serial: bool = False
    parts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    budget: int = 3600


STATISTICS, LOADERS = 0.90, 0.85

TARGETS: dict[str, Target] = {
    "stats": Target(
        "analysis/core/stats.py",
        STATISTICS,
        "intervals, tau^2 estimators, funnel limits and multiple-testing corrections",
        parts=(
            (
                "tau2",
                ("between_variance*", "dersimonian_laird*", "_effects", "_group_codes"),
            ),
            ("reml", ("reml_tau2*", "_reml_score", "_reml_bracket_top")),
            (
                "winsorised",
                (
                    "winsorised_phi",
                    "additive_tau2",
                    "winsorised_null_moment",
                    "rescaled_winsorised_phi",
                ),
            ),
        ),
    ),
    "reproduction": Target(
        "analysis/core/reproduction.py",
        STATISTICS,
        "whether a published figure is reproduced, and the re-check of every claimed match",
    ),
    "verdicts": Target(
        "analysis/core/verdicts.py",
        STATISTICS,
        "the verdict per publication and item, and the counts per kind of evidence",
    ),
    "findings": Target(
        "analysis/core/findings.py",
        STATISTICS,
        "where a source contradicts itself: the findings and their counts",
    ),
    "suppression": Target(
        "analysis/core/suppression.py",
        STATISTICS,
        "which small cells are withheld, so that none can be recovered",
    ),
    "qca": Target(
        "analysis/casestudy/qca.py",
        STATISTICS,
        "truth tables, consistency and coverage",
    ),
    "minimise": Target(
        "analysis/casestudy/minimise.py",
        STATISTICS,
        "the complex, parsimonious and intermediate QCA solutions",
    ),
    "cache": Target(
        "analysis/compendium/cache.py",
        LOADERS,
        "whether a run is fresh: cache keys, digests, the run's integrity",
        serial=True,
        # Run in two parts: the package's import closure and digest, then the rest (file
        # digests, integrity, staleness); each takes about two minutes of CPU.
        parts=(
            (
                "closure",
                (
                    "module_closure",
                    "imported_modules",
                    "_with_parents",
                    "_module_file",
                    "package_digest",
                    "_closure_digests",
                    "closure_digests",
                    "package_folder",
                ),
            ),
        ),
    ),
    "pipeline": Target(
        "analysis/compendium/pipeline.py",
        LOADERS,
        "what a run depends on: the declared inputs, parameters and order",
        serial=True,
        # Nearly every test of the runner, the notebooks and the book loads the pipeline
        # file, so a survivor in the reading and checking functions runs them all (minutes).
        parts=(
            ("reading", ("load", "read_raw", "_construct_mapping", "_line", "_fail")),
            (
                "checks",
                (
                    "_check_book",
                    "_check_references",
                    "_check_reference",
                    "_relative_file",
                    "is_pattern",
                    "check_data_input",
                ),
            ),
            ("notebook", ("_parse_notebook",)),
        ),
    ),
    "parameters": Target(
        "analysis/parameters.py",
        LOADERS,
        "parameter values, their canonical form and the parameter set's name in the cache key",
    ),
    "qof": Target(
        "analysis/indicators/sources/qof.py",
        LOADERS,
        "QOF achievement read from NHS Digital's files: values, bounds, years",
    ),
    "fingertips": Target(
        "analysis/indicators/sources/fingertips.py",
        LOADERS,
        "Fingertips exports turned into the panel: values, counts, years, England rows",
    ),
    "rule_trends": Target(
        "analysis/indicators/networks/rule_trends.py",
        STATISTICS,
        "organisation trends under each membership rule and variation within organisations",
        # Every function is reached by the stored and region chapter tests, some 50 CPU s for
        # each surviving mutant: one run of the module went over its budget.
        parts=(
            ("slopes", ("_codes", "_slopes")),
            ("trends", ("organisation_trends",)),
            ("summary", ("rule_summary",)),
        ),
    ),
    "mixed": Target(
        "analysis/indicators/methods/mixed.py",
        STATISTICS,
        "the REML random-intercept fit: both variances, the fixed effects and their p-values",
    ),
    "turnover": Target(
        "analysis/indicators/sources/turnover.py",
        STATISTICS,
        "membership turnover of networks between yearly mappings",
    ),
    "trend_fe": Target(
        "analysis/indicators/methods/trend_fe.py",
        STATISTICS,
        "the practice fixed-effects trend model",
    ),
    "real_chapter": Target(
        "analysis/indicators/networks/real_chapter.py",
        STATISTICS,
        "the REAL networks chapter's tables: which PCNs, indicators and years enter each",
        # The chapter's run (the rest: run_real_chapter, _levels, _files_table, _members) is
        # tested by one run on the stored files, some 8 CPU s a mutant: apart from the tables.
        parts=(
            (
                "tables",
                (
                    "practice_values",
                    "_practice_list",
                    "characteristics",
                    "pcn_code_agreement",
                    "qof_panel",
                    "fixed_effects_logit",
                    "_norm_cdf",
                    "financial_year",
                    "_with_financial_years",
                    "label_real",
                ),
            ),
        ),  # fmt: skip
    ),
    "structures": Target(
        "analysis/indicators/sources/structures.py",
        LOADERS,
        "which practice belongs to which PCN, sub-ICB, ICB and region in a year",
    ),
    "real_inputs": Target(
        "analysis/indicators/networks/real_inputs.py",
        LOADERS,
        "which files and parameters of the REAL networks chapter are accepted",
    ),
    "contract": Target(
        "analysis/indicators/sources/contract.py",
        LOADERS,
        "which panel tables are accepted, and the checks beyond their schemas",
    ),
    "panel": Target(
        "analysis/indicators/sources/panel.py",
        LOADERS,
        "the panel as loaded: values, membership by year, England rows",
    ),
    "panelfiles": Target(
        "analysis/indicators/sources/panelfiles.py",
        LOADERS,
        "the single files of a panel, each validated",
    ),
    "selection": Target(
        "analysis/indicators/methods/selection.py",
        LOADERS,
        "which organisations, indicators and years an analysis takes",
    ),
    "membership": Target(
        "analysis/indicators/sources/membership.py",
        LOADERS,
        "membership of practices in organisations",
    ),
    "qofmembership": Target(
        "analysis/indicators/sources/qofmembership.py",
        LOADERS,
        "membership derived from the parent codes of QOF files",
    ),
    "comparison": Target(
        "analysis/indicators/methods/comparison.py",
        STATISTICS,
        "each organisation against England: limits, z-scores, p-values and the class it gets",
        # Every test of the full analysis reaches the comparison itself, some 10-40 s each.
        parts=(
            (
                "national",
                ("compare_to_national", "_null_se", "_interval", "_add_organisation_variance"),
            ),
            ("overdispersion", ("overdispersion_table", "practice_z_scores", "two_sided_p")),
        ),
    ),
    "real_levels": Target(
        "analysis/indicators/networks/real_levels.py",
        STATISTICS,
        "the REAL networks chapter's levels: every PCN against England, variance and families",
    ),
    "layouts": Target(
        "analysis/indicators/sources/layouts.py",
        LOADERS,
        "the steps the layout readers share: which stored layout a file has, and its rows",
    ),
    "spells": Target(
        "analysis/indicators/sources/spells.py",
        LOADERS,
        "which practice is a member of which organisation in each year",
    ),
    "widetable": Target(
        "analysis/indicators/sources/widetable.py",
        LOADERS,
        "a wide indicator table turned into a panel folder",
    ),
    "validation": Target(
        "analysis/indicators/validation.py",
        LOADERS,
        "which quality-indicator runs are accepted before they start",
    ),
}

# Each reason says why a silent error in the module changes no number, verdict or freshness,
# or which mutated module or test decides it instead.
_PLUMBING = (
    "plumbing: paths, errors, escaping, hashing or reading files; a silent error here shows "
    "as a failed run or an error message, and the digests it feeds are checked through "
    "the cache module's tests"
)
_ENGINE = (
    "the engine's orchestration (running, reporting, building, locking): it decides no "
    "number; what makes a run fresh is decided by cache and pipeline, which are mutated"
)
_BENCH = (
    "benchmarks (make bench): measurements reported as ratios, never results of the "
    "compendium; nothing in the book's findings depends on them"
)
_FIGURES = (
    "draws or lays out results computed elsewhere; what a figure draws is recorded and "
    "checked against its caption (analysis.core.drawn), its numbers come from mutated or "
    "tested tables"
)
_TEXT = (
    "turns result tables into sentences or publication tables; every number is a cell "
    "the sentence checks read back (check_sentences), so a wrong cell fails the build"
)
_PUBLISHED = (
    "transcribed published figures and their provenance: the values are data, checked "
    "against the source passages by the reproduction rows, not computed"
)
_SYNTHETIC = (
    "generates SYNTHETIC data; a silent change alters the illustration, and the methods "
    "recovering its planted truth are what the tests check"
)
_METHODS = (
    "quality-indicator methods around the comparison with England (trends, variation, "
    "mixed models, associations, the simulation and the PCN funnel); checked against "
    "statsmodels and scipy by the indicator tests but not yet mutated: listed for the next "
    "round, after comparison, trend_fe and real_levels, which decide the headline classes"
)
_SURVEY = (
    "survey strand: counts and percentages checked as must-match round trips against the "
    "published totals and against independent Wilson intervals; not in this round's "
    "mutated set (listed for a later one)"
)
_CASESTUDY = (
    "case-study coding and its tables: codes transcribed from the report and laid out; "
    "the decisions made from them (truth tables, minimisation) are mutated in qca and "
    "minimise"
)
_CODECHECK = (
    "checks the CODECHECK metadata file (codecheck.yml) against the specification's "
    "offline rules: it describes the compendium for a codechecker and decides no number, "
    "verdict or freshness; its rules are tested in tests/compendium/test_book_certify.py"
)
_EXECUTE = (
    "runs one notebook and records its manifest; whether a run is fresh is decided by "
    "cache.stale_reasons and what it depends on by pipeline, both mutated, which it calls"
)
_SCHEMAS = (
    "declarations (schemas, constants, column lists) read by the loaders; a wrong "
    "declaration fails the loaders' tests, which read real and fixture files through it"
)

EXCLUDED: dict[str, str] = {
    **dict.fromkeys(
        (
            "analysis/commandline.py",
            "analysis/configschema.py",
            "analysis/errors.py",
            "analysis/files.py",
            "analysis/markup.py",
            "analysis/paths.py",
            "analysis/patterns.py",
            "analysis/safeyaml.py",
            "analysis/core/datasets.py",
            "analysis/core/fastcache.py",
            "analysis/core/provenance.py",
            "analysis/core/catalogue.py",
            "analysis/indicators/sources/tablefiles.py",
        ),
        _PLUMBING,
    ),
    **dict.fromkeys(
        (
            "analysis/compendium/atomic.py",
            "analysis/compendium/book/assemble.py",
            "analysis/compendium/book/build.py",
            "analysis/compendium/book/buildcache.py",
            "analysis/compendium/book/certify.py",
            "analysis/compendium/book/collect.py",
            "analysis/compendium/book/datapage.py",
            "analysis/compendium/book/landing.py",
            "analysis/compendium/book/made.py",
            "analysis/compendium/book/markdown.py",
            "analysis/compendium/book/pdf.py",
            "analysis/compendium/book/reproducibility.py",
            "analysis/compendium/book/status.py",
            "analysis/compendium/cli.py",
            "analysis/compendium/clusters.py",
            "analysis/compendium/housekeeping.py",
            "analysis/compendium/inputcheck.py",
            "analysis/compendium/lockfile.py",
            "analysis/compendium/notebooks.py",
            "analysis/compendium/observe.py",
            "analysis/compendium/outcome.py",
            "analysis/compendium/reads.py",
            "analysis/compendium/runner.py",
            "analysis/compendium/sweep.py",
            "analysis/compendium/sweepsteps.py",
            "analysis/compendium/sweeptask.py",
        ),
        _ENGINE,
    ),
    **dict.fromkeys(
        (
            "analysis/bench/__main__.py",
            "analysis/bench/command.py",
            "analysis/bench/derive.py",
            "analysis/bench/load.py",
            "analysis/bench/measure.py",
            "analysis/bench/results.py",
            "analysis/bench/steps.py",
            "analysis/bench/sweeps.py",
            "analysis/bench/tables.py",
            "analysis/bench/targets.py",
            "analysis/bench/tools.py",
            "analysis/compendium/book/performance.py",
            "analysis/indicators/networks/real_bench.py",
            "analysis/indicators/synthetic/scaling.py",
        ),
        _BENCH,
    ),
    **dict.fromkeys(
        (
            "analysis/core/drawn.py",
            "analysis/core/figures.py",
            "analysis/core/layout.py",
            "analysis/casestudy/charts.py",
            "analysis/casestudy/display.py",
            "analysis/indicators/report/figures.py",
            "analysis/indicators/networks/network_figures.py",
            "analysis/indicators/networks/real_figures.py",
            "analysis/indicators/report/scalefigures.py",
            "analysis/survey/figures.py",
        ),
        _FIGURES,
    ),
    **dict.fromkeys(
        (
            "analysis/compendium/book/sentences.py",
            "analysis/core/sentences.py",
            "analysis/core/tables.py",
            "analysis/indicators/report/chapter.py",
            "analysis/indicators/networks/network_findings.py",
            "analysis/indicators/networks/real_sentences.py",
            "analysis/indicators/report/statements.py",
        ),
        _TEXT,
    ),
    **dict.fromkeys(
        (
            "analysis/casestudy/published.py",
            "analysis/casestudy/nuffield.py",
            "analysis/casestudy/sources.py",
            "analysis/survey/published.py",
            "analysis/indicators/sources/listsizes.py",
        ),
        _PUBLISHED,
    ),
    **dict.fromkeys(
        (
            "analysis/indicators/synthetic/simulation_design.py",
            "analysis/indicators/synthetic/panel.py",
            "analysis/indicators/methods/truth.py",
            "analysis/survey/reconstruction.py",
        ),
        _SYNTHETIC,
    ),
    **dict.fromkeys(
        (
            "analysis/indicators/methods/associations.py",
            "analysis/indicators/methods/comparators.py",
            "analysis/indicators/report/methods_report.py",
            "analysis/indicators/networks/achievement.py",
            "analysis/indicators/networks/network_funnel.py",
            "analysis/indicators/networks/network_run.py",
            "analysis/indicators/methods/results.py",
            "analysis/indicators/synthetic/simulation.py",
            "analysis/indicators/synthetic/simulation_fits.py",
            "analysis/indicators/synthetic/simulation_report.py",
            "analysis/indicators/methods/summary.py",
            "analysis/indicators/methods/trends.py",
            "analysis/indicators/methods/variation.py",
        ),
        _METHODS,
    ),
    **dict.fromkeys(
        (
            "analysis/survey/microdata.py",
            "analysis/survey/microdata_checks.py",
            "analysis/survey/over_time.py",
            "analysis/survey/published_checks.py",
            "analysis/survey/quarter_rule.py",
            "analysis/survey/rounding.py",
            "analysis/survey/tabulation.py",
        ),
        _SURVEY,
    ),
    **dict.fromkeys(
        (
            "analysis/casestudy/central_authority.py",
            "analysis/casestudy/conditions.py",
            "analysis/casestudy/definitions.py",
            "analysis/casestudy/evidence.py",
            "analysis/casestudy/framework.py",
            "analysis/casestudy/parameters.py",
            "analysis/casestudy/sensitivity.py",
            "analysis/casestudy/typology.py",
        ),
        _CASESTUDY,
    ),
    "analysis/compendium/book/codecheckspec.py": _CODECHECK,
    "analysis/compendium/execute.py": _EXECUTE,
    **dict.fromkeys(
        ("analysis/indicators/sources/schemas.py",),
        _SCHEMAS,
    ),
}

#: Functions of targets that mutmut cannot mutate because they are decorated, each with why
#: no silent error hides there ("source::function"). A decorated function of one statement
#: (a property, a cached call) needs no entry; one doing more must move its work into a
#: plain function or be named here.
UNMUTATED: dict[str, str] = {
    "analysis/core/verdicts.py::kind_figure": (
        "draws the kinds-of-evidence figure from kind_counts, which is mutated; what the "
        "figure draws is recorded and checked against its caption (analysis.core.drawn)"
    ),
    "analysis/casestudy/minimise.py::_sympy_forms": (
        "only calls sympy's SOPform and POSform, cached because they are slow; the "
        "translation of their answer (sympy_minimum, _sympy_terms) is mutated and checked "
        "against a brute-force minimum"
    ),
}

#: Tests the layout finds for a module that are too slow to run once per mutant:
#: node id -> why leaving it out hides no mutant of the modules it tests.
SLOW_TESTS: dict[str, str] = {
    "tests/core/test_suppression.py::test_no_small_cell_is_ever_recoverable": (
        "60 Hypothesis tables with two attacks each (~7 s a mutant); the attacks it makes "
        "are each tested on fixed tables in test_suppression_rules.py"
    ),
    "tests/compendium/test_pipeline.py::test_editing_a_module_invalidates_exactly_the_notebooks_"
    "that_import_it": (
        "six edits of the real package, each digesting every notebook's import closure three "
        "times (~3 s a case, ~20 s a mutant, and the time limit of a looping mutant 10x that); "
        "test_cache_mutants.py states the same rule on a synthetic package and, with the "
        "other test_cache_*.py files alone, kills every import-closure mutant; the pipeline "
        "functions it calls (load of the real pipeline.yml) are reached by over 70 other tests"
    ),
    "tests/e2e/test_project.py::test_ruff_lint_and_format": (
        "ruff over the whole project (seconds a mutant), and in the mutated copy it always "
        "fails on mutmut's own import and trampolines; no mutant changes what ruff checks, "
        "and the suite runs it on the real source"
    ),
}
