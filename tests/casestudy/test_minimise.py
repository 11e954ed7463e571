"""Boolean minimisation of truth tables: hand-worked examples with known minimal solutions,
an ambiguous (cyclic) one with two, and sympy's answer among them."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.casestudy import qca
from analysis.casestudy.minimise import (
    covers,
    intermediate_terms,
    minimal_covers,
    minimise,
    prime_implicants,
    solution_expression,
    sympy_minimum,
    term_expression,
)

ABC = ["A", "B", "C"]


def test_prime_implicants_of_a_hand_worked_function():
    # f = A*B + ~A*~B*C  on (A, B, C): ones 110, 111, 001; 11- merges, 001 stands alone
    ones = [(1, 1, 0), (1, 1, 1), (0, 0, 1)]
    assert set(prime_implicants(ones)) == {(1, 1, None), (0, 0, 1)}
    (cover,) = minimal_covers(ones, prime_implicants(ones))
    assert solution_expression(cover, ABC) == "A*B + ~A*~B*C"


def test_prime_implicants_come_fewest_literals_first_then_by_text():
    # the cyclic function 0, 1, 2, 5, 6, 7: every minterm merges, leaving six two-literal
    # primes, in text order (digits sort before "None")
    ones = [(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 1), (1, 1, 0), (1, 1, 1)]
    expected = [
        (0, 0, None),
        (0, None, 0),
        (1, 1, None),
        (1, None, 1),
        (None, 0, 1),
        (None, 1, 0),
    ]
    assert prime_implicants(ones) == expected
    assert prime_implicants(ones[::-1]) == expected
    # A*B before ~A*~B*C, although "(0, 0, 1)" sorts before "(1, 1, None)" as text
    assert prime_implicants([(0, 0, 1), (1, 1, 0), (1, 1, 1)]) == [(1, 1, None), (0, 0, 1)]


def test_terms_and_configurations_of_different_lengths_are_refused_not_truncated():
    # read pairwise up to the shorter one, each of these would give a wrong answer silently
    with pytest.raises(ValueError, match="zip"):
        covers((1, None), (1, 0, 1))
    with pytest.raises(ValueError, match="zip"):
        term_expression((1, 0), ["A"])
    with pytest.raises(ValueError, match="zip"):
        prime_implicants([(1, 1), (1, 1, 0)])


def test_term_expression_marks_absence_and_writes_the_empty_term_as_1():
    assert term_expression((1, 0, None), ABC) == "A*~B"
    assert term_expression((None, None, None), ABC) == "1"
    assert solution_expression([(None, None, None)], ABC) == "1"
    assert solution_expression([], ABC) == "0"


def test_sympy_minimum_of_the_never_and_always_true_functions():
    assert sympy_minimum(ABC, [], [])[0] == frozenset()
    everything = list(itertools.product((0, 1), repeat=3))
    assert sympy_minimum(ABC, everything[:1], everything[1:])[0] == {(None, None, None)}


def test_dont_cares_give_a_simpler_parsimonious_solution():
    # ones 110, 111; remainder 100 as a don't-care lets A*B shrink to A*~C + A*B ... -> A
    ones, dont_cares = [(1, 1, 0), (1, 1, 1)], [(1, 0, 0), (1, 0, 1)]
    (cover,) = minimal_covers(ones, prime_implicants(ones, dont_cares))
    assert solution_expression(cover, ABC) == "A"
    (complex_cover,) = minimal_covers(ones, prime_implicants(ones))
    assert solution_expression(complex_cover, ABC) == "A*B"


def test_cyclic_function_has_two_equally_minimal_solutions_and_sympy_gives_one():
    # minterms 0, 1, 2, 5, 6, 7 of (A, B, C): the textbook cyclic core
    ones = [(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 1), (1, 1, 0), (1, 1, 1)]
    covers_ = minimal_covers(ones, prime_implicants(ones))
    found = {solution_expression(c, ABC) for c in covers_}
    assert found == {"A*C + B*~C + ~A*~B", "A*B + ~A*~C + ~B*C"}
    sympy_terms, pos = sympy_minimum(ABC, ones, [])
    assert frozenset(sympy_terms) in {frozenset(c) for c in covers_}
    assert "*" in pos and "+" in pos


def test_minimal_covers_prefer_fewer_literals_among_equal_term_counts():
    ones = [(1, 1)]
    implicants = [(1, 1), (1, None)]
    assert minimal_covers(ones, implicants) == [((1, None),)]
    assert minimal_covers([], implicants) == []


def test_intermediate_keeps_literals_against_expectation_only_if_parsimonious_needs_them():
    complex_model = [(1, 0, 1)]  # A*~B*C
    parsimonious = [(1, None, None)]  # A
    # B expected present: ~B is an easy counterfactual to drop; C expected present: keep C
    assert intermediate_terms(complex_model, parsimonious, {1: 1, 2: 1}) == [(1, None, 1)]
    # no expectations: nothing is dropped
    assert intermediate_terms(complex_model, parsimonious, {}) == [(1, 0, 1)]
    # expectations against every literal: only the parsimonious one is left
    assert intermediate_terms(complex_model, parsimonious, {0: 0, 1: 1, 2: 0}) == [(1, None, None)]


def _cases(rows):
    return pd.DataFrame(rows, columns=[*ABC, "Y"], index=[f"c{i}" for i in range(len(rows))])


def test_minimise_reports_every_solution_type_with_fit():
    # observed: 110 -> 1, 111 -> 1, 001 -> 0, 000 -> 0; remainders used by the parsimonious
    data = _cases([(1, 1, 0, 1), (1, 1, 1, 1), (0, 0, 1, 0), (0, 0, 0, 0)])
    truth = qca.truth_table(data, "Y", ABC)
    sol = minimise(truth, data, "Y", ABC, directions={"A": 1, "B": 1}).set_index(
        ["solution", "model"]
    )
    assert sol.loc[("complex", 1), "expression"] == "A*B"
    assert set(sol.loc["parsimonious", "expression"]) == {"A", "B"}  # ambiguous: two models
    assert (sol.loc["parsimonious", "n_models"] == 2).all()
    assert set(sol.loc["intermediate", "expression"]) == {"A*B"}
    assert (sol["consistency"] == 1).all() and (sol["coverage"] == 1).all()
    assert sol["sympy_in_models"].dropna().all()


def test_minimise_with_no_positive_configuration_gives_the_empty_solution():
    data = _cases([(1, 1, 0, 0), (0, 0, 1, 0)])
    sol = minimise(qca.truth_table(data, "Y", ABC), data, "Y", ABC)
    assert set(sol["expression"]) == {"0"} and (sol["n_models"] == 0).all()


def test_bad_directions_are_named():
    data = _cases([(1, 1, 0, 1)])
    truth = qca.truth_table(data, "Y", ABC)
    with pytest.raises(ValueError, match=r"directions: \['D'\]"):
        minimise(truth, data, "Y", ABC, directions={"D": 1})
    with pytest.raises(ValueError, match="directions: values must be 0 or 1"):
        minimise(truth, data, "Y", ABC, directions={"A": 2})


@settings(max_examples=40, deadline=None)
@given(
    st.sets(st.tuples(*[st.integers(0, 1)] * 3), min_size=1),
    st.sets(st.tuples(*[st.integers(0, 1)] * 3)),
)
def test_every_minimal_cover_is_exactly_the_function_on_the_cared_rows(ones, dont_cares):
    """Each listed solution is true on every one, false on every zero; sympy's has the same size."""
    dont_cares = dont_cares - ones
    zeros = set(itertools.product((0, 1), repeat=3)) - ones - dont_cares
    covers_ = minimal_covers(sorted(ones), prime_implicants(sorted(ones), sorted(dont_cares)))
    assert covers_
    for cover in covers_:
        assert all(any(covers(t, o) for t in cover) for o in ones)
        assert not any(any(covers(t, z) for t in cover) for z in zeros)
    sympy_terms, _ = sympy_minimum(ABC, sorted(ones), sorted(dont_cares))
    assert len(sympy_terms) == len(covers_[0])
