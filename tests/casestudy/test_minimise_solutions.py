"""The table :func:`minimise` returns, checked against a brute-force minimisation.

The expected minimal solutions are found here by trying every set of terms over three
conditions (all 27 of them), keeping the sets true on every configuration showing the
outcome and false on every one that must not, with the fewest terms and then the fewest
literals: the definition, not Quine-McCluskey or Petrick. sympy's product of sums is read
back and evaluated on every configuration.
"""

from __future__ import annotations

import itertools
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy import Symbol, sympify
from sympy.logic.boolalg import is_cnf
from sympy.parsing.sympy_parser import parse_expr

from analysis.casestudy import qca
from analysis.casestudy.minimise import minimise

ABC = ["A", "B", "C"]
CONFIGS = list(itertools.product((0, 1), repeat=3))
COLUMNS = [
    "solution",
    "model",
    "n_models",
    "expression",
    "n_terms",
    "n_literals",
    "consistency",
    "coverage",
    "sympy_sop",
    "sympy_pos",
    "sympy_in_models",
]


def _true(term, config) -> bool:
    return all(v is None or v == c for v, c in zip(term, config, strict=True))


def _literals(terms) -> int:
    return sum(v is not None for t in terms for v in t)


def _minimal_sums(ones, zeros) -> set[frozenset]:
    """Every sum of products true on ``ones``, false on ``zeros``: fewest terms, then literals."""
    if not ones:
        return set()
    allowed = [
        t for t in itertools.product((None, 0, 1), repeat=3) if not any(_true(t, z) for z in zeros)
    ]
    for size in itertools.count(1):
        found = [
            terms
            for terms in itertools.combinations(allowed, size)
            if all(any(_true(t, o) for t in terms) for o in ones)
        ]
        if found:
            fewest = min(map(_literals, found))
            return {frozenset(f) for f in found if _literals(f) == fewest}


def _terms(expression: str) -> frozenset:
    """Read ``A*~B + C`` back into terms; ``1`` is the empty term, ``0`` no term."""
    if expression == "0":
        return frozenset()
    terms = set()
    for product in expression.split(" + "):
        term = [None] * 3
        if product != "1":
            for literal in product.split("*"):
                term[ABC.index(literal.removeprefix("~"))] = int(not literal.startswith("~"))
        terms.add(tuple(term))
    return frozenset(terms)


def _pos_values(pos: str) -> dict[tuple[int, ...], bool]:
    """Evaluate sympy's product of sums (written with ``*`` and ``+``) on every configuration."""
    assert "&" not in pos and "|" not in pos
    symbols = {c: Symbol(c) for c in ABC}
    expr = sympify(parse_expr(pos.replace("*", "&").replace("+", "|"), local_dict=symbols))
    assert is_cnf(expr)
    return {
        config: bool(expr.subs({symbols[c]: bool(v) for c, v in zip(ABC, config, strict=True)}))
        for config in CONFIGS
    }


def _cases(outcomes: dict[tuple[int, ...], list[int]]) -> pd.DataFrame:
    rows = [(*config, y) for config, ys in outcomes.items() for y in ys]
    return pd.DataFrame(rows, columns=[*ABC, "Y"], index=[f"c{i}" for i in range(len(rows))])


def _solve(data: pd.DataFrame, **kwargs) -> pd.DataFrame:
    return minimise(qca.truth_table(data, "Y", ABC), data, "Y", ABC, **kwargs)


def _check_against_brute_force(sol: pd.DataFrame, ones: set, zeros: set) -> None:
    """Every column of the complex and parsimonious rows, and the intermediate without
    directions, which drops no literal and so is the complex solution."""
    assert list(sol.columns) == COLUMNS
    expected = {
        "complex": _minimal_sums(ones, set(CONFIGS) - ones),
        "parsimonious": _minimal_sums(ones, zeros),
    }
    expected["intermediate"] = expected["complex"]
    for kind, models in expected.items():
        rows = sol[sol["solution"] == kind]
        assert {_terms(e) for e in rows["expression"]} == models
        assert list(rows["model"]) == list(range(1, len(rows) + 1))
        assert (rows["n_models"] == len(models)).all()
        parsed = [_terms(e) for e in rows["expression"]]
        assert list(rows["n_terms"]) == [len(m) for m in parsed]
        assert list(rows["n_literals"]) == [_literals(m) for m in parsed]
        if kind == "intermediate":
            assert list(rows["expression"]) == sorted(rows["expression"])
            assert (rows["sympy_sop"] == "").all() and (rows["sympy_pos"] == "").all()
            assert rows["sympy_in_models"].isna().all()
            continue
        assert rows["sympy_sop"].nunique() == 1 and rows["sympy_pos"].nunique() == 1
        assert _terms(rows["sympy_sop"].iloc[0]) in models
        assert rows["sympy_in_models"].tolist() == [True] * len(rows)
        cared = ones | (set(CONFIGS) - ones if kind == "complex" else zeros)
        values = _pos_values(rows["sympy_pos"].iloc[0])
        assert {c for c in cared if values[c]} == ones


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.sampled_from(CONFIGS), st.integers(0, 1), min_size=1))
def test_solutions_match_a_brute_force_minimisation(observed):
    """Each observed configuration's cases all show the outcome or all do not."""
    ones = {c for c, y in observed.items() if y}
    zeros = {c for c, y in observed.items() if not y}
    sol = _solve(_cases({c: [y] for c, y in observed.items()}))
    if not ones:
        assert set(sol["expression"]) == {"0"}
        return
    _check_against_brute_force(sol, ones, zeros)
    assert (sol["consistency"] == 1).all() and (sol["coverage"] == 1).all()


@pytest.mark.parametrize(
    "ones, zeros",
    [
        # the cyclic function: two complex models; every configuration observed
        (
            {(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 1), (1, 1, 0), (1, 1, 1)},
            {(0, 1, 1), (1, 0, 0)},
        ),
        # no observed zero: the parsimonious solution is the empty term, always true
        ({(1, 1, 0), (0, 0, 1)}, set()),
        # odd parity: the four configurations showing the outcome merge with no other
        ({(0, 0, 1), (0, 1, 0), (1, 0, 0), (1, 1, 1)}, {(0, 0, 0), (1, 1, 0)}),
    ],
)
def test_hand_picked_truth_tables_match_the_brute_force_minimisation(ones, zeros):
    sol = _solve(_cases({c: [1] for c in ones} | {c: [0] for c in zeros}))
    _check_against_brute_force(sol, ones, zeros)


def test_the_always_true_solution_is_written_1_by_the_compendium_and_by_sympy():
    sol = _solve(_cases({(1, 1, 0): [1], (0, 0, 1): [1]})).set_index("solution")
    assert sol.loc["parsimonious", "expression"] == "1"
    assert sol.loc["parsimonious", "sympy_sop"] == "1"
    assert (sol.loc["parsimonious", ["n_terms", "n_literals"]] == [1, 0]).all()
    assert all(_pos_values(sol.loc["parsimonious", "sympy_pos"]).values())


def test_fit_of_a_solution_with_a_contradictory_configuration():
    # 110: 4 of 5 cases show the outcome (0.8, coded 1 at the default cutoff); 000: 2 of 4
    # (coded 0); 011 and 100: none. The solutions cover exactly the five 110 cases.
    data = _cases(
        {(1, 1, 0): [1, 1, 1, 1, 0], (0, 0, 0): [1, 1, 0, 0], (0, 1, 1): [0], (1, 0, 0): [0]}
    )
    sol = _solve(data, directions={"C": 1})
    # hand-derived: complex A*B*~C; parsimonious (false on 000, 011, 100) A*B or B*~C
    expressions = sol.groupby("solution", sort=False)["expression"].apply(list).to_dict()
    assert expressions["complex"] == ["A*B*~C"]
    assert set(expressions["parsimonious"]) == {"A*B", "B*~C"}
    # C expected present: ~C is dropped unless the parsimonious model keeps it
    assert expressions["intermediate"] == ["A*B", "A*B*~C"]
    assert sol["consistency"].tolist() == pytest.approx([4 / 5] * len(sol))
    assert sol["coverage"].tolist() == pytest.approx([4 / 6] * len(sol))


def test_an_expected_absence_is_a_direction_too():
    # complex A*B; parsimonious A or B. With B expected absent, B (present) is dropped from
    # A*B when the parsimonious model is A, and kept (the model needs it) when it is B.
    data = _cases({(1, 1, 0): [1], (1, 1, 1): [1], (0, 0, 1): [0], (0, 0, 0): [0]})
    sol = _solve(data, directions={"A": 1, "B": 0})
    inter = sol[sol["solution"] == "intermediate"]
    assert inter["expression"].tolist() == ["A", "A*B"]
    assert inter["model"].tolist() == [1, 2] and (inter["n_models"] == 2).all()
    assert inter["n_literals"].tolist() == [1, 2]


@pytest.mark.parametrize("value", [2, -1, 0.5, "1"])
def test_a_direction_other_than_0_or_1_is_refused_in_one_line(value):
    data = _cases({(1, 1, 0): [1]})
    with pytest.raises(ValueError) as raised:
        _solve(data, directions={"B": value})
    assert str(raised.value) == f"directions: values must be 0 or 1, got {{'B': {value!r}}}"


def test_no_configuration_showing_the_outcome_gives_one_empty_row_per_type_without_fit():
    # 110: one case of two shows the outcome (0.5, below the cutoff), so nothing is coded 1
    sol = _solve(_cases({(1, 1, 0): [1, 0], (0, 0, 1): [0]}))
    assert list(sol.columns) == COLUMNS
    assert sol["solution"].tolist() == ["complex", "parsimonious", "intermediate"]
    assert sol["expression"].tolist() == ["0", "0", "0"]
    assert sol["model"].tolist() == [1, 1, 1] and (sol["n_models"] == 0).all()
    assert (sol[["n_terms", "n_literals"]] == 0).all().all()
    assert sol["consistency"].isna().all() and sol["coverage"].isna().all()
    assert sol["sympy_sop"].tolist() == ["0", "0", ""]
    assert sol["sympy_pos"].tolist() == ["0", "0", ""]


def test_a_truth_table_read_back_from_csv_gives_the_same_solutions(tmp_path):
    """Remainders' outcome codes are missing: as pandas' NA, or as NaN once read from a file."""
    data = _cases({(1, 1, 0): [1], (1, 1, 1): [1], (0, 0, 1): [0], (0, 1, 0): [0]})
    truth = qca.truth_table(data, "Y", ABC)
    assert truth["outcome_code"].isna().sum() == 4
    truth.to_csv(tmp_path / "truth.csv", index=False)
    read = pd.read_csv(tmp_path / "truth.csv")
    assert read["outcome_code"].isna().sum() == 4
    expected = minimise(truth, data, "Y", ABC)
    pd.testing.assert_frame_equal(minimise(read, data, "Y", ABC), expected)
    # hand-derived: false on 001 and 010, true on 11-: A alone is the one-literal answer
    assert expected.set_index("solution").loc["parsimonious", "expression"] == "A"
    assert math.isclose(expected["consistency"].iloc[0], 1.0)
