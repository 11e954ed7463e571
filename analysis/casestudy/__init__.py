"""Strand 3, case studies (McDonald et al. 2020; Nuffield Table 2).

- ``sources``: the source reports, the four sites, the data files, provenance columns.
- ``evidence``: the coded evidence (themes, codebook, evidence) and ``load`` of every input.
- ``published``: McDonald Tables 1, 2, 3, 7 and the typology, read and checked.
- ``nuffield``: Nuffield Table 2, the spectrum of forms, and member practices over time.
- ``parameters``: checks of the notebook's list and threshold parameters.
- ``framework``: scoring maps, the framework matrix with its footnotes, and the heatmap.
- ``typology``: central-authority styles derived from two coded dimensions.
- ``conditions``: QCA conditions and outcomes as crisp sets.
- ``qca``: crisp-set qualitative comparative analysis (truth tables, consistency, coverage).

Uses ``analysis.core``; never another strand or the engine.
"""

__all__ = [
    "conditions",
    "evidence",
    "framework",
    "nuffield",
    "parameters",
    "published",
    "qca",
    "sources",
    "typology",
]
