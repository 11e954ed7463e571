"""Boolean minimisation of a crisp-set truth table: complex, parsimonious and intermediate
solutions, with every equally minimal solution listed.

Following Ragin (2008) and Schneider and Wagemann (2012):

- the **complex** (conservative) solution minimises the configurations coded as showing the
  outcome and treats every logical remainder as not showing it;
- the **parsimonious** solution lets the minimisation use any remainder as a don't-care;
- the **intermediate** solution keeps, from each complex-solution term, the literals that
  are in the parsimonious term it implies or that agree with the stated directional
  expectations, so only "easy" counterfactuals are assumed.

sympy's Quine-McCluskey (:func:`sympy.logic.boolalg.SOPform`, :func:`~sympy.logic.boolalg.POSform`)
does the minimisation and its answer is reported. sympy returns one minimal formula; when
several are equally minimal (model ambiguity) :func:`minimal_covers` lists them all by
Petrick's method over the prime implicants (:func:`prime_implicants`), and sympy's answer
is checked to be among them.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from sympy import And, Not, Or, Symbol, false, true
from sympy.logic.boolalg import POSform, SOPform

from analysis.casestudy.qca import consistency, coverage

Term = tuple[int | None, ...]
"""A conjunction over the conditions: 1 present, 0 absent, None eliminated."""

SOLUTION_TYPES = ("complex", "parsimonious", "intermediate")


def _merge(a: Term, b: Term) -> Term | None:
    # The terms of one merging round all eliminate the same number of conditions, so two
    # that differ in one place only differ there by a specified literal (0 against 1).
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diff) != 1:
        return None
    return tuple(None if i == diff[0] else x for i, x in enumerate(a))


def prime_implicants(
    ones: Iterable[Sequence[int]], dont_cares: Iterable[Sequence[int]] = ()
) -> list[Term]:
    """The prime implicants of the function true on ``ones`` (``dont_cares`` may be either).

    Quine-McCluskey merging: terms differing in exactly one specified literal are merged
    until nothing merges; the terms never merged are prime. They are returned in a fixed
    order: fewest literals first, then by the text of the term.
    """
    current = {tuple(int(v) for v in t) for t in [*ones, *dont_cares]}
    primes: set[Term] = set()
    while current:
        merged, used = set(), set()
        for a, b in itertools.combinations(sorted(current, key=str), 2):
            m = _merge(a, b)
            if m is not None:
                merged.add(m)
                used.update((a, b))
        primes |= current - used
        current = merged
    return sorted(primes, key=lambda t: (literal_count(t), str(t)))


def literal_count(term: Term) -> int:
    """Number of conditions a term specifies."""
    return sum(v is not None for v in term)


def covers(term: Term, config: Sequence[int]) -> bool:
    """Whether a configuration satisfies a term."""
    return all(v is None or v == c for v, c in zip(term, config, strict=True))


def minimal_covers(
    ones: Sequence[Sequence[int]], implicants: Sequence[Term]
) -> list[tuple[Term, ...]]:
    """Every cover of ``ones`` by the fewest implicants, then by the fewest literals (Petrick).

    Enumerates subsets of the implicants by size; with the few conditions a small-N
    analysis can carry the search is tiny. An empty ``ones`` gives no cover.
    """
    ones = [tuple(o) for o in ones]
    if not ones:
        return []
    useful = [t for t in implicants if any(covers(t, o) for o in ones)]
    for size in range(1, len(useful) + 1):
        found = [
            combo
            for combo in itertools.combinations(useful, size)
            if all(any(covers(t, o) for t in combo) for o in ones)
        ]
        if found:
            fewest = min(sum(map(literal_count, c)) for c in found)
            return [c for c in found if sum(map(literal_count, c)) == fewest]
    return []


def term_expression(term: Term, conditions: Sequence[str]) -> str:
    """``a*~b`` (``~`` marks absence); ``1`` for the empty term (always true)."""
    parts = [c if v else f"~{c}" for v, c in zip(term, conditions, strict=True) if v is not None]
    return "*".join(parts) or "1"


def solution_expression(model: Sequence[Term], conditions: Sequence[str]) -> str:
    """``a*~b + c`` for a set of terms, in a stable order; ``0`` when empty."""
    if not model:
        return "0"
    return " + ".join(sorted(term_expression(t, conditions) for t in model))


def _sympy_terms(expr, conditions: Sequence[str]) -> frozenset[Term]:
    index = {c: i for i, c in enumerate(conditions)}
    if expr is true:
        return frozenset({(None,) * len(conditions)})
    if expr is false:
        return frozenset()
    terms = set()
    for product in Or.make_args(expr):
        term: list[int | None] = [None] * len(conditions)
        for literal in And.make_args(product):
            if isinstance(literal, Not):
                term[index[str(literal.args[0])]] = 0
            else:
                term[index[str(literal)]] = 1
        terms.add(tuple(term))
    return frozenset(terms)


def sympy_minimum(
    conditions: Sequence[str], ones: Sequence[Sequence[int]], dont_cares: Sequence[Sequence[int]]
) -> tuple[frozenset[Term], str]:
    """sympy's minimal sum of products and the product-of-sums form of the same function.

    The sum of products is returned as terms; the product of sums as text, written with
    ``*`` and ``+`` as the solutions are.
    """
    conditions = tuple(conditions)
    sop, pos = _sympy_forms(conditions, tuple(map(tuple, ones)), tuple(map(tuple, dont_cares)))
    return _sympy_terms(sop, conditions), str(pos).replace("&", "*").replace("|", "+")


@functools.lru_cache(maxsize=256)
def _sympy_forms(conditions, ones, dont_cares):
    # Only sympy's (slow) minimisation is cached: the translation back to terms runs each call.
    symbols = [Symbol(c) for c in conditions]
    ones, dont_cares = [list(o) for o in ones], [list(d) for d in dont_cares]
    return SOPform(symbols, ones, dont_cares or None), POSform(symbols, ones, dont_cares or None)


def intermediate_terms(
    complex_model: Sequence[Term],
    parsimonious_model: Sequence[Term],
    directions: Mapping[int, int],
) -> list[Term]:
    """Each complex term reduced by the easy counterfactuals that one parsimonious model allows.

    A literal of a complex term is kept when it is also in a parsimonious term that the
    complex term implies, when no direction is expected for its condition, or when it agrees
    with the expected direction (dropping it would be a difficult counterfactual).
    """
    out = []
    for c in complex_model:
        parents = [
            p for p in parsimonious_model if all(v is None or c[i] == v for i, v in enumerate(p))
        ]
        in_parent = {i for p in parents for i, v in enumerate(p) if v is not None}
        out.append(
            tuple(
                v
                if v is not None and (i in in_parent or i not in directions or directions[i] == v)
                else None
                for i, v in enumerate(c)
            )
        )
    return out


def _configurations(rows: pd.DataFrame, conditions: Sequence[str]) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in r) for r in rows[list(conditions)].to_numpy()]


def _fit(model: Sequence[Term], data: pd.DataFrame, outcome: str, conditions: Sequence[str]):
    configs = data[list(conditions)].to_numpy(dtype=int)
    x = np.array([float(any(covers(t, c) for t in model)) for c in configs])
    y = data[outcome].to_numpy()  # consistency and coverage cast it to float
    return consistency(x, y), coverage(x, y)


def minimise(
    truth: pd.DataFrame,
    data: pd.DataFrame,
    outcome: str,
    conditions: Sequence[str],
    *,
    directions: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Complex, parsimonious and intermediate solutions of a truth table, every minimal model.

    Parameters
    ----------
    truth
        Output of :func:`analysis.casestudy.qca.truth_table` with remainders.
    data
        The crisp cases the truth table was built from (for solution consistency and coverage).
    outcome, conditions
        As for the truth table.
    directions
        Expected contribution of each condition to the outcome (1: presence, 0: absence);
        conditions left out have no expectation. Used only by the intermediate solution.

    Returns
    -------
    pandas.DataFrame
        One row per (solution type, model): ``solution``, ``model`` (1, 2, ...), ``n_models``,
        ``expression``, ``n_terms``, ``n_literals``, ``consistency``, ``coverage``,
        ``sympy_sop`` (sympy's minimum for that type, one formula), ``sympy_pos``
        (sympy's product of sums) and ``sympy_in_models`` (sympy's formula is one of the
        listed models). sympy has no intermediate solution: its columns are empty (``""``,
        ``None``) there. Models are numbered in a fixed order (the intermediate ones by
        expression). When no configuration shows the outcome each type has one row, the
        empty solution ``0``, whose consistency and coverage are missing.
    """
    conditions = list(conditions)
    directions = directions or {}
    unknown = sorted(set(directions) - set(conditions))
    if unknown:
        raise ValueError(f"directions: {unknown} are not conditions {conditions}")
    if any(v not in (0, 1) for v in directions.values()):
        raise ValueError(f"directions: values must be 0 or 1, got {dict(directions)}")
    dirs = {conditions.index(c): int(v) for c, v in directions.items()}
    # pandas drops the rows whose mask is missing: a remainder's outcome code is missing
    ones = _configurations(truth[truth["outcome_code"].eq(1)], conditions)
    remainders = _configurations(truth[truth["n"] == 0], conditions)
    models: dict[str, list[tuple[Term, ...]]] = {}
    sympy_results: dict[str, tuple[frozenset[Term], str]] = {}
    for kind, dc in (("complex", []), ("parsimonious", remainders)):
        models[kind] = minimal_covers(ones, prime_implicants(ones, dc))
        sympy_results[kind] = sympy_minimum(conditions, ones, dc) if ones else (frozenset(), "0")
    candidates = {
        tuple(sorted(set(intermediate_terms(c, p, dirs)), key=str))
        for c in models["complex"]
        for p in models["parsimonious"]
    }
    inter = set()
    for terms in candidates:
        inter.update(minimal_covers(ones, terms))
    models["intermediate"] = sorted(inter, key=lambda m: solution_expression(m, conditions))
    rows = []
    for kind in SOLUTION_TYPES:
        found = models[kind] or [()]
        sym_terms, sym_pos = sympy_results.get(kind, (None, ""))
        for k, model in enumerate(found, start=1):
            cons, cov = _fit(model, data, outcome, conditions) if model else (np.nan, np.nan)
            rows.append(
                {
                    "solution": kind,
                    "model": k,
                    "n_models": len(models[kind]),
                    "expression": solution_expression(model, conditions),
                    "n_terms": len(model),
                    "n_literals": sum(map(literal_count, model)),
                    "consistency": cons,
                    "coverage": cov,
                    "sympy_sop": ""
                    if sym_terms is None
                    else solution_expression(sorted(sym_terms, key=str), conditions),
                    "sympy_pos": sym_pos,
                    "sympy_in_models": None
                    if sym_terms is None
                    else any(frozenset(m) == sym_terms for m in models[kind]),
                }
            )
    return pd.DataFrame(rows)
