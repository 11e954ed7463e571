"""Mutants that no test can kill because they do not change behaviour (read by
tests/mutation.py).

Each entry: mutant name -> (text of the line as mutated, why the behaviour is identical for
every input the function accepts, on every supported platform). An entry counts only while
its mutant exists, survives and still mutates that line; otherwise ``make mutation`` fails
naming it, so an entry never outlives the code it describes. A mutant whose effect depends
on the platform (the locale's encoding, a library version) is not equivalent: a test kills
it under the condition where it matters.
"""

from __future__ import annotations

_QCA = "analysis.casestudy.qca.x_"
_FLOAT_CAST = (
    "the float cast is redundant: 0/1, boolean or fuzzy numeric scores give the same "
    "minimum, sum and true division without it"
)
_N_FIRST = "rows are also sorted by n descending, which already puts observed (n > 0) rows first"
_NAN_TIE = "consistency is missing only for n = 0 rows, which all get the same fill value"
_UNIQUE_LAST_KEY = "the last sort key, the expression, is unique, so the order is total"
_KIND_IGNORED = "pandas ignores the sort kind when sorting on several columns"
_ZIP_STRICT = "both sequences are built with one entry per condition, so strict never fires"
_SUP = "analysis.core.suppression.x_"
_HIGHS = "HiGHS is scipy's default linprog method, and scipy lower-cases the method name"
_STATS = "analysis.core.stats.x_"
_NUMERIC_CAST = (
    "the float cast is redundant for numeric input here: no power or integer division "
    "follows, and missing values are not accepted by this function either way"
)
_SORT_KIND = "tied p-values get the same adjusted value whatever the sort order"
_WILSON_LOWER = (
    "for count > 0 the lower bound centre - half lies in (0, 1) (centre <= 1, half >= 0); "
    "no rounding below 0 was found searching n up to 1e17 with counts 1 and 2"
)
_STATSMODELS_FLOAT = "statsmodels' confint_poisson already returns float arrays"
_CACHE = "analysis.compendium.cache.x_"
_PIPE = "analysis.compendium.pipeline.x"
_CODEC_CASE = "Python's codec lookup ignores case: 'UTF-8' and 'utf-8' name the same codec"
_REPRO = "analysis.core.reproduction.x_"
_ONE_KIND = (
    "MUST_MATCH_KINDS holds one kind (round_trip), so the separator of its join is never "
    "printed; a second kind would make this mutant killable and fail the run"
)
_PARAM = "analysis.parameters.x_"
_ASCII_JSON = (
    "json.dumps escapes every non-ASCII character (ensure_ascii is on), so the record is "
    "ASCII, written the same by every locale's encoding (all supersets of ASCII)"
)
_VERDICTS = "analysis.core.verdicts.x_"
_TRUTH_ONLY = "pandas only tests this flag for truth, and None is false as False is"
_GROUPBY_SORTED = "sort=True is what groupby does when sort is not given"
_SAME_LENGTH = "the four sequences are columns of one DataFrame, so strict never fires"
_INDEX_DROPPED = (
    "the concatenated index is dropped at the end (reset_index(drop=True)) and the "
    "rows are sorted on unique keys, one row per (publication, kind), before that"
)
_MIN = "analysis.casestudy.minimise.x_"
_TFE = "analysis.indicators.methods.trend_fe.x_"
_ONLY_FE = (
    "group_fit compares the model with 'practice_fe' only: any other name is the pooled model"
)
_LEVELS = "analysis.indicators.networks.real_levels.x_"
_LAYOUTS = "analysis.indicators.sources.layouts.x_"
_CONTRACT = "analysis.indicators.sources.contract.x_"
_NO_MISSING_BOOL = (
    "the mask has no missing values, so to_numpy() already gives numpy bool (pandas' "
    "boolean dtype without NA converts to bool)"
)
_REAL_INPUTS = "analysis.indicators.networks.real_inputs.x_"
_SEL = "analysis.indicators.methods.selection.x_"
_MERGE_INDEX = "merge builds a new index, so the index of the concatenated spells is never seen"
_SPELL_KEYS = (
    "both frames' columns are fixed here: the observations' (practice_code, year, "
    "indicator_id, numerator, denominator) and the spells' (practice_code, organisation_id, "
    "year) share exactly practice_code and year"
)
_FACT_KEYS = (
    "both frames' columns are fixed here: the facts' (indicator_id, domain, distribution, "
    "higher_is_better) and the observations' share exactly indicator_id"
)
_CMP = "analysis.indicators.methods.comparison.x_"
_GROUPS_WRITTEN_BACK = (
    "each group's estimate is written to its own rows (by position), so the order in which "
    "the groups are visited does not matter"
)
_CMP_KEYS = (
    "the organisations' totals and facts, and the comparator's rates, have fixed columns "
    "here that share exactly the join's keys"
)
_CMP_UNIQUE = (
    "the right side has one row per key by construction (facts: drop_duplicates on "
    "indicator_id; comparator_rates: a groupby on indicator and year), so validate never fires"
)
_CMP_DISPERSION = (
    "dispersion is overdispersion_table's table (as the parameter documents), whose columns "
    "besides indicator_id and year (n_units, phi, tau2, tau2_method) are none of the "
    "organisations'"
)
_ALREADY_SORTED = (
    "the rows are already in this order (organisation_totals groups by organisation, "
    "indicator and year, and the left joins keep it), so the index is 0..n-1 either way"
)
_ST = "analysis.indicators.sources.structures.x_"
_ONLY_MAPPED = (
    "only the mapping's columns are taken from the frame read, by name, and its index is "
    "a fresh 0..n-1 either way"
)
_OD_ORDER = (
    "a group's z, se, rate and organisation are reordered together, and every statistic of "
    "a group is free of their order (sums, a mean, quantiles); only the order of the "
    "floating-point additions can change, in the last bit"
)
_OD_FLOAT = "z, se, rate and the national rate are quotients (practice_z_scores): already float64"
_OD_NONE_GROUP = (
    "the practices in no organisation form one group either way: under pandas' -1 sentinel "
    "or under a code of their own"
)
_OD_ONE_RATE = (
    "every practice of a group has the group's national rate, so se is zero for all of them "
    "(the continuous case, decided first) or for none"
)
_WT = "analysis.indicators.sources.widetable.x_"
_ASCII_YAML = (
    "yaml.safe_dump escapes every non-ASCII character (allow_unicode is off), so panel.yml "
    "is ASCII, written the same by every locale's encoding (all supersets of ASCII)"
)
_RC = "analysis.indicators.networks.real_chapter.x_"
EQUIVALENT: dict[str, tuple[str, str]] = {
    f"{_LAYOUTS}read_text_table__mutmut_23": ('raw.decode("UTF-8-SIG")', _CODEC_CASE),
    f"{_MIN}_fit__mutmut_2": (
        "configs = data[list(conditions)].to_numpy(dtype=None)",
        "the data are the crisp cases the truth table was built from (0/1, checked by "
        "qca.check_crisp), and 0/1 stored as int, float or bool compare equal to a term's 0/1",
    ),
    f"{_MIN}minimal_covers__mutmut_12": (
        "for size in range(len(useful) + 1):",
        "size 0 tries only the empty set, which covers no configuration, and ones is not empty "
        "there (an empty ones returns before the loop)",
    ),
    f"{_MIN}minimal_covers__mutmut_16": (
        "for size in range(1, len(useful) + 2):",
        "no subset is larger than the useful implicants themselves: combinations of one more "
        "yields nothing, so the extra round finds no cover and [] is returned as before",
    ),
    f"{_VERDICTS}_reasons__mutmut_76": ("value_counts(sort=None)", _TRUTH_ONLY),
    f"{_VERDICTS}verdicts__mutmut_22": ("itertuples(index=None)", _TRUTH_ONLY),
    f"{_VERDICTS}verdicts__mutmut_39": ('groupby("source_document", )', _GROUPBY_SORTED),
    f"{_VERDICTS}verdicts__mutmut_49": ('groupby("item", )', _GROUPBY_SORTED),
    **{
        f"{_VERDICTS}kind_counts__mutmut_{n}": (line, _INDEX_DROPPED)
        for n, line in (
            (47, "ignore_index=None)"),
            (49, "overall[per.columns]], )"),
            (50, "ignore_index=False)"),
        )
    },
    **{
        f"{_VERDICTS}report_table__mutmut_{n}": (line, _SAME_LENGTH)
        for n, line in ((15, "strict=None,"), (20, ")"), (29, "strict=False,"))
    },
    **{
        f"{_VERDICTS}verdicts__mutmut_{n}": (
            line,
            "a non-empty frame gives one row per publication (source_document is filled "
            "for every check by combine), each a dict whose keys are the columns in order",
        )
        for n, line in ((111, "pd.DataFrame(rows, columns=None)"), (113, "pd.DataFrame(rows, )"))
    },
    f"{_PARAM}resolve_path__mutmut_3": (
        "return path if (path.is_absolute()) and False else repo_root() / path",
        "joining an absolute path onto any folder gives that absolute path (pathlib's /)",
    ),
    f"{_PARAM}parse_parameter__mutmut_71": (
        "default=None,",
        "this first Parameter is only used to check the default, and coerce_value never "
        "reads its default; the one returned gets the checked default",
    ),
    f"{_PARAM}parse_parameter__mutmut_105": (
        "check_path=None",
        "coerce_value only tests check_path for truth, and None is false as False is",
    ),
    f"{_PARAM}check_parameters__mutmut_66": ('"\\n", encoding=None)', _ASCII_JSON),
    f"{_PARAM}check_parameters__mutmut_68": ('"\\n", )', _ASCII_JSON),
    f"{_PARAM}check_parameters__mutmut_80": ('encoding="UTF-8"', _CODEC_CASE),
    f"{_REPRO}check__mutmut_26": ('"XX, XX".join(MUST_MATCH_KINDS)', _ONE_KIND),
    f"{_REPRO}read_checks__mutmut_55": ("'XX, XX'.join(MUST_MATCH_KINDS)", _ONE_KIND),
    f"{_PIPE}ǁPipelineǁupstream__mutmut_8": (
        'ref.split(":", 2)[0]',
        "the part before the first colon is the same whatever the split limit",
    ),
    f"{_CACHE}_code_cells__mutmut_6": (
        'read_text(encoding="UTF-8")',
        _CODEC_CASE,
    ),
    f"{_CACHE}_code_cells__mutmut_11": (
        'if (isinstance(c["source"], list)) or True else',
        '"".join of a string gives the same string',
    ),
    f"{_CACHE}tampered_runs__mutmut_15": (
        "path.read_text(encoding=None)",
        "run.json is written only by the runner, with json.dumps' ASCII escapes, so every "
        "locale's encoding (all supersets of ASCII) reads it the same",
    ),
    f"{_CACHE}tampered_runs__mutmut_17": ('path.read_text(encoding="UTF-8")', _CODEC_CASE),
    f"{_CACHE}module_closure__mutmut_14": (
        'read_text(encoding="UTF-8")',
        _CODEC_CASE,
    ),
    "analysis.indicators.networks.rule_trends.x_within_variation__mutmut_51": (
        "frame[sizes >= 1]",
        "an organisation of one practice has a standard deviation (ddof 1) of NaN, which the "
        "median skips; with no organisation of two or more, both versions give NaN",
    ),
    **{
        f"analysis.indicators.networks.rule_trends.x_within_variation__mutmut_{n}": (
            line,
            "grouping by the list `by` gives each cell as a tuple of one value per column of "
            "`by`, so the two have the same length and strict never fires",
        )
        for n, line in (
            (61, "zip(by, cell, strict=None)"),
            (64, "zip(by, cell, )"),
            (65, "zip(by, cell, strict=False)"),
        )
    },
    "analysis.indicators.networks.rule_trends.x_within_variation__mutmut_94": (
        "if (len(spread)) or True else np.nan",
        "the median of an empty float Series is NaN, what the other branch gives",
    ),
    "analysis.indicators.methods.mixed.xǁProfileǁobjective__mutmut_10": (
        "np.log(q * dof)",
        "dof * log(q * dof) is dof * log(q / dof) plus the constant 2 dof log(dof), and the "
        "objective is only ever compared with itself on the same data (it is defined up to a "
        "constant), so every choice between candidates is the same",
    ),
    "analysis.indicators.methods.mixed.xǁProfileǁscore__mutmut_22": (
        'np.einsum("GI,GI->G"',
        "numpy's einsum takes upper-case subscript letters as it takes lower-case ones",
    ),
    "analysis.indicators.methods.mixed.x_variance_share__mutmut_10": (
        'float("NAN")',
        'Python parses "NAN" as it parses "nan", case-insensitively, to the same float NaN',
    ),
    "analysis.indicators.sources.fingertips.x_read_export__mutmut_20": (
        'encoding="UTF-8-SIG"',
        _CODEC_CASE,
    ),
    **{
        f"{_STATS}{func}__mutmut_{n}": (line, _NUMERIC_CAST)
        for func, n, line in (
            ("wilson_interval", 4, "count = np.asarray(count, dtype=None)"),
            ("wilson_interval", 6, "count = np.asarray(count, )"),
            ("null_standard_error", 5, "target = np.asarray(target, dtype=None)"),
            ("null_standard_error", 7, "target = np.asarray(target, )"),
            ("null_standard_error", 10, "n = np.asarray(n, dtype=None)"),
            ("null_standard_error", 12, "n = np.asarray(n, )"),
            ("funnel_limits", 26, "target = np.asarray(target, dtype=None)"),
            ("funnel_limits", 28, "target = np.asarray(target, )"),
        )
    },
    **{
        f"{_STATS}benjamini_hochberg__mutmut_{n}": (line, _SORT_KIND)
        for n, line in ((20, "kind=None"), (22, "np.argsort(values, )"), (24, 'kind="MERGESORT"'))
    },
    **{
        f"{_STATS}garwood_interval__mutmut_{n}": (line, _STATSMODELS_FLOAT)
        for n, line in (
            (50, "np.asarray(lower, dtype=None)"),
            (52, "np.asarray(lower, )"),
            (55, "np.asarray(upper, dtype=None)"),
            (57, "np.asarray(upper, )"),
        )
    },
    **{
        f"{_STATS}wilson_interval__mutmut_{n}": (line, _WILSON_LOWER)
        for n, line in (
            (74, "np.clip(centre - half, None, 1.0)"),
            (75, "np.clip(centre - half, 0.0, None)"),
            (81, "np.clip(centre - half, 0.0, 2.0)"),
        )
    },
    f"{_STATS}wilson_interval__mutmut_92": (
        "np.clip(centre + half, None, 1.0)",
        "centre and half are both non-negative, so the upper bound is never below 0",
    ),
    **{
        f"{_STATS}between_variance__mutmut_{n}": (
            line,
            "between_variance_rows casts the target with dtype=float before using it",
        )
        for n, line in ((82, "np.array([target], dtype=None)"), (84, "np.array([target], )"))
    },
    f"{_STATS}reml_tau2_rows__mutmut_13": (
        "_reml_score(y, v, np.zeros(len(y))) >= 0)",
        "a row whose score at 0 is exactly 0 then enters find_root, which takes as the root "
        "the bracket end with the smaller absolute score: 0, since the score at the bracket's "
        "top is negative (tests/core/test_stats_reml.py), so the row still gets 0",
    ),
    f"{_STATS}garwood_interval__mutmut_48": (
        "np.nan_to_num(np.asarray(lower, dtype=float), )",
        "nan_to_num's default replacement for NaN is already 0.0",
    ),
    f"{_SUP}cell_bounds__mutmut_32": ("b_eq=b_eq, )", _HIGHS),
    f"{_SUP}_upper_bound_below__mutmut_25": ("b_eq=b_eq, )", _HIGHS),
    f"{_SUP}_upper_bound_below__mutmut_27": ('method="HIGHS"', _HIGHS),
    f"{_SUP}cell_bounds__mutmut_35": ('method="HIGHS"', _HIGHS),
    f"{_SUP}_equations__mutmut_12": (
        "coef[index[cell]] = sign",
        "a cell appears once in each row or column equation, so += and = agree",
    ),
    f"{_SUP}_equations__mutmut_20": (
        "if (a_eq) or True else (None, None)",
        "there are no equations only when no cell is withheld, and then no LP is solved",
    ),
    **{
        f"{_QCA}{func}__mutmut_{n}": (line, _FLOAT_CAST)
        for func in ("consistency", "coverage")
        for n, line in (
            (3, "np.asarray(x, dtype=None)"),
            (5, "np.asarray(x, )"),
            (7, "np.asarray(y, dtype=None)"),
            (9, "np.asarray(y, )"),
        )
    },
    f"{_QCA}consistency__mutmut_23": ('float("NAN")', 'float("NAN") is the same NaN'),
    f"{_QCA}coverage__mutmut_23": ('float("NAN")', 'float("NAN") is the same NaN'),
    f"{_QCA}truth_table__mutmut_17": (
        "y = data[outcome].to_numpy(dtype=None)",
        "y is only compared with 1 and passed to consistency/coverage, which cast it",
    ),
    f"{_QCA}truth_table__mutmut_38": (
        "else sorted(observed, )",
        "the rows are re-sorted afterwards with the unique expression as last key",
    ),
    f"{_QCA}truth_table__mutmut_39": (
        "else sorted(observed, reverse=False)",
        "the rows are re-sorted afterwards with the unique expression as last key",
    ),
    f"{_QCA}truth_table__mutmut_43": (
        "to_numpy(dtype=None) == np.array(config)",
        "0/1 stored as int, float or bool compare equal to the 0/1 configuration",
    ),
    f"{_QCA}truth_table__mutmut_48": (
        "x = member.astype(None)",
        "numpy's astype(None) is float64, the same as astype(float)",
    ),
    **{
        f"{_QCA}truth_table__mutmut_{n}": (line, _ZIP_STRICT)
        for n, line in (
            (58, "zip(conditions, config, strict=None)"),
            (61, "zip(conditions, config, )"),
            (62, "zip(conditions, config, strict=False)"),
        )
    },
    f"{_QCA}truth_table__mutmut_104": (
        "if (not np.isnan(cons)) or True else False",
        "for a remainder cons is NaN and 0 < NaN < 1 is already False",
    ),
    **{
        f"{_QCA}truth_table__mutmut_{n}": (line, why)
        for n, line, why in (
            (125, "_obs=None", _N_FIRST),
            (131, '_obs=table["n"] >= 0', _N_FIRST),
            (132, '_obs=table["n"] > 1', _N_FIRST),
            (133, "fillna(None)", _NAN_TIE),
            (136, "fillna(+1)", _NAN_TIE),
            (137, "fillna(-2)", _NAN_TIE),
            (141, "kind=None", _UNIQUE_LAST_KEY),
            (144, "ascending=[False, False, False, True], )", _UNIQUE_LAST_KEY),
            (157, 'kind="XXmergesortXX"', _KIND_IGNORED),
            (158, 'kind="MERGESORT"', _KIND_IGNORED),
        )
    },
    f"{_QCA}condition_table__mutmut_9": (
        "y = data[outcome].to_numpy(dtype=None)",
        "y only reaches consistency/coverage, which cast it to float",
    ),
    f"{_QCA}condition_table__mutmut_12": (
        "present = data[name].to_numpy(dtype=None)",
        "1.0 - present and consistency/coverage give floats for int, float or bool columns",
    ),
    **{
        f"{_TFE}fit_trend__mutmut_{n}": (f'model: str = "{name}"', _ONLY_FE)
        for n, name in ((1, "XXpooledXX"), (2, "POOLED"))
    },
    f"{_LEVELS}denominator_sensitivity__mutmut_22": ('groupby("family", sort=None)', _TRUTH_ONLY),
    f"{_LEVELS}domain_summary__mutmut_3": ('"family"], sort=None)', _TRUTH_ONLY),
    f"{_LEVELS}domain_summary__mutmut_16": ('groupby("domain", )', _GROUPBY_SORTED),
    f"{_LEVELS}indicator_summary__mutmut_3": ('"indicator_id"], sort=None)', _TRUTH_ONLY),
    f"{_LEVELS}organisation_profile__mutmut_32": ("as_index=None)", _TRUTH_ONLY),
    f"{_CONTRACT}_overlaps__mutmut_12": (
        '_end=membership["left"].fillna(MAX_YEAR + 2)',
        "'joined' is at most MAX_YEAR (the membership schema), so an open spell's end of "
        "MAX_YEAR + 1 or MAX_YEAR + 2 is after every start alike",
    ),
    f"{_CONTRACT}_overlaps__mutmut_35": (
        "[: MAX_REPORTED + 2]",
        "validate_membership, its only caller, passes on at most MAX_REPORTED + 1 problems, "
        "which MAX_REPORTED + 1 overlaps already fill",
    ),
    f"{_CONTRACT}_schema_problems__mutmut_3": ("sort=None, dropna=False)", _TRUTH_ONLY),
    f"{_CONTRACT}_schema_problems__mutmut_4": ("sort=False, dropna=None)", _TRUTH_ONLY),
    f"{_CONTRACT}_schema_problems__mutmut_15": (
        'index = group["index"].dropna().astype(None).to_numpy()',
        "astype(None) is float64; file_line casts each row number with int(), exactly for "
        "every row number below 2**53",
    ),
    f"{_CONTRACT}validate_membership__mutmut_17": ("late.to_numpy(dtype=None)", _NO_MISSING_BOOL),
    f"{_CONTRACT}values_to_counts__mutmut_29": (
        'scale.eq("percent").fillna(False).to_numpy(dtype=None)',
        _NO_MISSING_BOOL,
    ),
    f"{_REAL_INPUTS}check_inputs__mutmut_104": (
        'qof = ""',
        "the QOF summaries are left unread only when an error has been recorded (no files, a "
        "missing year or fewer than two trend years), and then no inputs are returned either way",
    ),
    f"{_CONTRACT}check_catalogue__mutmut_43": (
        '{"single_year", "years_available"} < set(catalogue.columns)',
        "a catalogue always has indicator_id as well (read just before), so the two columns "
        "are never all of its columns: subset and proper subset agree",
    ),
    f"{_CONTRACT}check_catalogue__mutmut_52": (
        'single = catalogue["single_year"].astype(None).to_numpy()',
        "pandas' astype(None) is float64, as astype(float) is, for Int64, int and float columns",
    ),
    f"{_CONTRACT}_year_bounds__mutmut_19": (
        'text.str.split("-", expand=True).astype(None)',
        "astype(None) is float64, which holds the four-digit years exactly; year_window, the "
        "only caller, returns them as float64 either way",
    ),
    f"{_CONTRACT}_year_bounds__mutmut_24": (
        'text.str.rsplit("-", expand=True)',
        "years_available matches the catalogue schema's ^\\d{4}-\\d{4}$ (one hyphen), so "
        "split and rsplit cut at the same place",
    ),
    **{
        f"{_SEL}prepare__mutmut_{n}": (line, _MERGE_INDEX)
        for n, line in ((55, "ignore_index=None,"), (57, ")"), (63, "ignore_index=False,"))
    },
    f"{_SEL}prepare__mutmut_66": ("frame.merge(spells, on=None,", _SPELL_KEYS),
    f"{_SEL}prepare__mutmut_70": ('frame.merge(spells, how="left", validate="m:1")', _SPELL_KEYS),
    f"{_SEL}prepare__mutmut_92": ("frame.merge(facts, on=None,", _FACT_KEYS),
    f"{_SEL}prepare__mutmut_96": ('frame.merge(facts, how="left", validate="m:1")', _FACT_KEYS),
    **{
        f"{_CMP}_add_organisation_variance__mutmut_{n}": (line, _GROUPS_WRITTEN_BACK)
        for n, line in (
            (59, '"year"], sort=None)'),
            (61, '"year"], )'),
            (66, '"year"], sort=True)'),
        )
    },
    f"{_CMP}_add_organisation_variance__mutmut_87": (
        'out["national_rate"].iloc[ok[1]]',
        "England's rate is merged in per indicator and year, so every row of a group has the "
        "same one, and a group is estimated only with two or more usable rows",
    ),
    **{
        f"{_CMP}compare_to_national__mutmut_{n}": (line, why)
        for n, line, why in (
            (39, ".merge(dispersion, on=None,", _CMP_DISPERSION),
            (43, '.merge(dispersion, how="left", validate="m:1")', _CMP_DISPERSION),
            (47, "on=None,", _CMP_KEYS),
            (49, "validate=None,", _CMP_UNIQUE),
            (51, "", _CMP_KEYS),  # deletes the on= argument: no line is added
            (53, ")", _CMP_UNIQUE),
            (55, ".merge(facts, on=None,", _CMP_KEYS),
            (57, '.merge(facts, on="indicator_id", how="left", validate=None)', _CMP_UNIQUE),
            (59, '.merge(facts, how="left", validate="m:1")', _CMP_KEYS),
            (364, '"year"], ignore_index=None)', _ALREADY_SORTED),
            (366, '"year"], )', _ALREADY_SORTED),
            (373, '"year"], ignore_index=False)', _ALREADY_SORTED),
        )
    },
    **{
        f"{_ST}read_structures__mutmut_{n}": (line, _ONLY_MAPPED)
        for n, line in (
            (20, "reset_index(drop=None)"),
            (22, "tablefiles.read_parquet(path, None)"),
            (24, "tablefiles.read_parquet(path, )"),
            (26, "reset_index(drop=False)"),
        )
    },
    f"{_ST}read_structures__mutmut_29": (
        "out = pd.DataFrame(index=None)",
        "the first column assigned (a mapping names at least the practice and PCN codes) "
        "gives the empty frame the read frame's index",
    ),
    **{
        f"{_CMP}overdispersion_table__mutmut_{n}": (line, why)
        for n, line, why in (
            (18, '"year"], )', _GROUPBY_SORTED),
            (27, "np.argsort(codes, kind=None)", _OD_ORDER),
            (29, "np.argsort(codes, )", _OD_ORDER),
            (31, 'kind="STABLE"', "numpy reads the sort kind without regard to case"),
            (43, "scored[c].to_numpy(dtype=None)", _OD_FLOAT),
            (56, 'scored["national_rate"].to_numpy(dtype=None)', _OD_FLOAT),
            (61, "use_na_sentinel=None", _OD_NONE_GROUP),
            (63, 'pd.factorize(scored["organisation_id"], )', _OD_NONE_GROUP),
            (66, "use_na_sentinel=False", _OD_NONE_GROUP),
            (
                93,
                "rate if (continuous) or True else z",
                _OD_ONE_RATE + ", so z is missing exactly where the rate is",
            ),
            (101, "np.all(se >= 0)", _OD_ONE_RATE),
            (118, "stats.winsorised_phi(z, )", "WINSOR_FRACTION is 0.1, winsorised_phi's default"),
            (
                138,
                "target=float(national[k][1])",
                "every practice of a group has the same national rate, and a group is "
                "estimated only with two or more",
            ),
        )
    },
    **{
        f"{_CMP}classify__mutmut_{n}": (
            line,
            "rows with no direction are named higher or lower afterwards, so their entry in "
            "higher is never read; the others are True or False under any fill, and a float "
            "0/1 (astype(None)) is read by np.where as the bool is",
        )
        for n, line in (
            (16, "np.where(neutral, False, direction).astype(None)"),
            (18, "np.where(neutral, None, direction).astype(bool)"),
            (23, "np.where(neutral, True, direction).astype(bool)"),
        )
    },
    **{
        f"{_LEVELS}compare__mutmut_{n}": (
            line,
            "select reads membership only to check a membership_year, which compare never sets",
        )
        for n, line in (
            (5, "membership=None,"),
            (11, "panel.organisations, alpha=alpha,"),
        )
    },
    **{
        f"{_LEVELS}level_rows__mutmut_{n}": (
            line,
            "the summary columns taken are the three keys, p_bh and class_bh, and the level "
            "table has no p_bh or class_bh: the join's keys are the shared columns",
        )
        for n, line in ((10, "on=None,"), (14, ""))
    },
    **{
        f"{_LEVELS}level_rows__mutmut_{n}": (
            line,
            "the summary has one level row per organisation, indicator and year (built from "
            "the level table's rows), so validate never fires",
        )
        for n, line in ((12, "validate=None,"), (16, ")"))
    },
    f"{_LEVELS}level_rows__mutmut_51": (
        'if (s.name == "indicator_id") or True else s',
        "the level rows come sorted by organisation (compare_to_national), and sorting on "
        "several columns is stable, so mapping the organisation column to all-missing keeps "
        "them in organisation order within each indicator",
    ),
    **{
        f"{_WT}write_panel_folder__mutmut_{n}": (line, _ASCII_YAML)
        for n, line in (
            (32, "sort_keys=False), encoding=None)"),
            (34, "sort_keys=False), )"),
            (41, 'encoding="UTF-8")'),
        )
    },
    f"{_WT}write_panel_folder__mutmut_36": ("sort_keys=None)", _TRUTH_ONLY),
    f"{_WT}_numbers__mutmut_2": (
        'errors="coerce").astype(None)',
        "pandas' astype(None) is float64, as astype(float) is",
    ),
    **{
        f"{_RC}pcn_code_agreement__mutmut_{n}": (
            line,
            "the QOF practices (practice_code, year, pcn and the summary's counts) and the "
            "mapping's three columns share exactly practice_code and year",
        )
        for n, line in ((6, '"pcn_code"]], on=None'), (8, '"pcn_code"]], )'))
    },
    **{
        f"{_RC}fixed_effects_logit__mutmut_{n}": (
            line,
            "the QOF panel (qof_panel: practice_code, year, indicator_id, value) and the PCN of "
            "each practice-year share exactly practice_code and year; inner is merge's default",
        )
        for n, line in (
            (3, 'panel.merge(own, on=None, how="inner")'),
            (6, 'panel.merge(own, how="inner")'),
            (7, 'panel.merge(own, on=["practice_code", "year"], )'),
        )
    },
    **{
        f"{_RC}fixed_effects_logit__mutmut_{n}": (
            line,
            "already float64 (a quotient, or a difference from a float mean), or years as "
            "integers that column_stack makes float beside the float interaction",
        )
        for n, line in (
            (28, '(data["value"] / 100).to_numpy(None)'),
            (53, '(data["year"] - data["year"].min()).to_numpy(None)'),
            (60, '(data["size"] - data["size"].mean()).to_numpy(None)'),
        )
    },
    f"{_RC}fixed_effects_logit__mutmut_37": (
        'keep = informative(y, None, groups, "binomial")',
        "n is all ones, so bincount without weights counts the same trials",
    ),
    f"{_RC}characteristics__mutmut_55": ('.groupby("pcn_code", as_index=None)', _TRUTH_ONLY),
    f"{_RC}financial_year__mutmut_2": (
        "return year.astype(None).map(financial_year)",
        "each year is cast with int() again inside, so float years give the same labels",
    ),
    f"{_RC}_levels__mutmut_40": (
        "real_levels.compare(flat, **compare), TABLE_SOURCE, None",
        "the estimator's name only labels rows; of the table without denominators the "
        "sensitivity reads the classes alone",
    ),
    f"{_RC}_levels__mutmut_33": (
        "flat = real_levels.table_panel(inputs.table, denominators=None)",
        "table_panel only tests denominators for truth, and None is false as False is",
    ),
}
