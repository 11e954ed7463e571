"""Membership turnover of primary care networks between yearly geography mappings.

PCNs were formed in 2019 and their membership has moved since: practices close, merge and open
(their codes leave or join the files), move between networks, or leave a network for none
(code ``U``); network codes appear and disappear. :func:`year_sizes` describes each year's
networks and :func:`transitions` counts what changed between consecutive years and between the
first and last year. All take the stacked mapping files of
:func:`analysis.indicators.sources.structures.read_structure_years`.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd


def _members(structures: pd.DataFrame, year: int) -> pd.DataFrame:
    frame = structures[structures["year"] == year]
    return frame.set_index("practice_code")[["pcn_code", "in_pcn"]]


def year_sizes(structures: pd.DataFrame) -> pd.DataFrame:
    """Per year: practices, practices in a PCN, PCNs, and member practices per PCN.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``practices``, ``in_pcn``, ``not_in_pcn``, ``pcns``, ``median_practices``,
        ``max_practices``, ``single_practice_pcns`` (networks of one practice).
    """
    rows = []
    for year, frame in structures.groupby("year"):
        sizes = frame[frame["in_pcn"]].groupby("pcn_code").size()
        rows.append(
            {
                "year": int(year),
                "practices": len(frame),
                "in_pcn": int(frame["in_pcn"].sum()),
                "not_in_pcn": int((~frame["in_pcn"]).sum()),
                "pcns": len(sizes),
                "median_practices": float(sizes.median()),
                "max_practices": int(sizes.max()),
                "single_practice_pcns": int((sizes == 1).sum()),
            }
        )
    return pd.DataFrame(rows)


def _member_sets(frame: pd.DataFrame) -> pd.Series:
    inside = frame[frame["in_pcn"]]
    return inside.reset_index().groupby("pcn_code")["practice_code"].agg(frozenset)


def compare_years(structures: pd.DataFrame, before: int, after: int) -> dict[str, int | float]:
    """What changed between two years' files (``before`` earlier).

    Returns
    -------
    dict
        ``practices_both`` (codes in both files), ``changed_pcn`` (in a PCN in both years,
        a different one), ``joined_pcn`` (no PCN, then one), ``left_pcn`` (a PCN, then none),
        ``closed`` (codes only in the earlier file: closed or merged), ``opened`` (codes only
        in the later file), ``pcns_before``, ``pcns_after``, ``pcns_formed`` (codes only in
        the later file), ``pcns_closed`` (codes only in the earlier file), ``pcns_same_members``
        (codes in both with exactly the same practices) and ``share_changed_pcn``
        (``changed_pcn`` over practices in a PCN in both years).
    """
    early, late = _members(structures, before), _members(structures, after)
    both = early.index.intersection(late.index)
    e, la = early.loc[both], late.loc[both]
    in_both = e["in_pcn"].to_numpy() & la["in_pcn"].to_numpy()
    changed = in_both & (e["pcn_code"].to_numpy() != la["pcn_code"].to_numpy())
    sets_before, sets_after = _member_sets(early), _member_sets(late)
    common = sets_before.index.intersection(sets_after.index)
    same = int((sets_before.loc[common] == sets_after.loc[common]).sum())
    return {
        "practices_both": len(both),
        "changed_pcn": int(changed.sum()),
        "joined_pcn": int((~e["in_pcn"].to_numpy() & la["in_pcn"].to_numpy()).sum()),
        "left_pcn": int((e["in_pcn"].to_numpy() & ~la["in_pcn"].to_numpy()).sum()),
        "closed": int(len(early.index.difference(late.index))),
        "opened": int(len(late.index.difference(early.index))),
        "pcns_before": len(sets_before),
        "pcns_after": len(sets_after),
        "pcns_formed": int(len(sets_after.index.difference(sets_before.index))),
        "pcns_closed": int(len(sets_before.index.difference(sets_after.index))),
        "pcns_same_members": same,
        "share_changed_pcn": float(changed.sum() / in_both.sum()) if in_both.any() else np.nan,
    }


def transitions(structures: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare_years` for each pair of consecutive years, then first against last.

    Returns
    -------
    pandas.DataFrame
        ``period`` (``2019-2020``...; the last row ``2019-2023`` compares the end points),
        ``from_year``, ``to_year`` and the counts of :func:`compare_years`.
    """
    years = sorted(int(y) for y in structures["year"].unique())
    pairs = list(pairwise(years))
    if len(years) > 2:
        pairs.append((years[0], years[-1]))
    rows = [
        {"period": f"{a}-{b}", "from_year": a, "to_year": b, **compare_years(structures, a, b)}
        for a, b in pairs
    ]
    return pd.DataFrame(rows)


def practice_histories(structures: pd.DataFrame) -> pd.DataFrame:
    """One row per practice: the years it is in the files and how many PCNs it was in.

    Returns
    -------
    pandas.DataFrame
        ``practice_code``, ``years`` (files it appears in), ``pcns`` (distinct PCN codes,
        ``U`` excluded), ``moved`` (in more than one PCN), ``ever_unallocated``.
    """
    inside = structures[structures["in_pcn"]]
    pcns = inside.groupby("practice_code")["pcn_code"].nunique()
    out = structures.groupby("practice_code").agg(
        years=("year", "size"), ever_unallocated=("in_pcn", lambda s: bool((~s).any()))
    )
    out["pcns"] = pcns.reindex(out.index, fill_value=0).astype(int)
    out["moved"] = out["pcns"] > 1
    return out.reset_index()[["practice_code", "years", "pcns", "moved", "ever_unallocated"]]


def turnover_summary(structures: pd.DataFrame) -> pd.DataFrame:
    """The whole period in one row: practices seen, in every file, ever moved, PCN codes seen.

    Returns
    -------
    pandas.DataFrame
        ``first_year``, ``last_year``, ``practices_seen``, ``in_every_file``, ``moved``
        (practices in more than one PCN over the period), ``share_moved`` (of practices seen
        in a PCN), ``pcn_codes_seen``, ``pcn_codes_every_year``.
    """
    years = sorted(int(y) for y in structures["year"].unique())
    history = practice_histories(structures)
    in_pcn = history["pcns"] > 0
    codes = structures[structures["in_pcn"]].groupby("pcn_code")["year"].nunique()
    return pd.DataFrame(
        [
            {
                "first_year": years[0],
                "last_year": years[-1],
                "practices_seen": len(history),
                "in_every_file": int((history["years"] == len(years)).sum()),
                "moved": int(history["moved"].sum()),
                "share_moved": float(history["moved"].sum() / in_pcn.sum()),
                "pcn_codes_seen": len(codes),
                "pcn_codes_every_year": int((codes == len(years)).sum()),
            }
        ]
    )
