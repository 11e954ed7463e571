"""Saving figures deterministically, labelled with where their data came from.

Every figure carries its data tier (``published``, ``synthetic``, ``user``, ``real`` or
``coded``, the compendium's own coding of a published report) in a corner stamp, so a
synthetic result or the compendium's own coding can never be mistaken for a study finding
or a published figure, and is written as PNG and SVG with no dates or software versions
in the metadata, so two runs give byte-identical files.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from analysis.files import atomic_path  # noqa: E402

TIERS = {
    "published": "Data: published figures (transcribed)",
    "synthetic": "Data: SYNTHETIC (illustrative, not study findings)",
    "user": "Data: user-supplied",
    "real": "Data: REAL public data (OGL v3; see caption for publisher)",
    "coded": "Data: this compendium's own coding of a published report (not published figures)",
}

plt.rcParams.update({"svg.hashsalt": "compendium", "figure.dpi": 100, "savefig.dpi": 110})


def tier_label(tier: str) -> str:
    """The stamp text for a data tier; raises for an unknown tier."""
    if tier not in TIERS:
        raise ValueError(f"unknown data tier {tier!r}; expected one of {sorted(TIERS)}")
    return TIERS[tier]


def stamp(fig: plt.Figure, tier: str) -> plt.Figure:
    """Write the data-tier label in the figure's bottom-right corner."""
    colour = "#b00020" if tier == "synthetic" else "#555555"
    fig.text(0.995, 0.005, tier_label(tier), ha="right", va="bottom", fontsize=8, color=colour)
    return fig


def save_figure(fig: plt.Figure, path: str | os.PathLike, tier: str) -> list[Path]:
    """Stamp ``fig`` with its tier and save ``<path>.png`` and ``<path>.svg`` atomically.

    ``path`` is given without a suffix. Returns the written paths. What the figure draws
    (titles, axis labels, legends, labelled series) is recorded in ``<path>.json`` beside
    them, so its caption can be checked against it (:mod:`analysis.core.drawn`).
    """
    from analysis.core.drawn import write_description

    stamp(fig, tier)
    written = []
    base = Path(path)
    for suffix, metadata in ((".png", {"Software": None}), (".svg", {"Date": None})):
        target = base.with_suffix(suffix)
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=suffix[1:], metadata=metadata, bbox_inches="tight")
        written.append(target)
    write_description(fig, base.with_suffix(".json"), skip=(tier_label(tier),))
    return written
