"""Strand 3, case studies (McDonald et al. 2020; Nuffield Table 2).

- ``sources``: the source reports, the four sites, the data files, provenance columns.
- ``evidence``: the coded evidence (themes, codebook, evidence) and ``load`` of every input.
- ``published``: McDonald Tables 1, 2, 3, 7 and the typology, read and checked.
- ``central_authority``: McDonald Box 1, Table 5 and Table 6, read and checked.
- ``nuffield``: Nuffield Table 2, the spectrum of forms, and member practices over time.
- ``parameters``: checks of the notebook's list and threshold parameters.
- ``framework``: scoring maps, the framework matrix with its footnotes, and the heatmap.
- ``typology``: central-authority styles placed on two dimensions (the quadrant rule).
- ``definitions``: the typology derived from the report's definitions and Tables 5 and 6.
- ``charts``: framework charts for the report's research questions; data completeness.
- ``conditions``: QCA conditions and outcomes as crisp sets (crossover cases left out).
- ``qca``: crisp-set qualitative comparative analysis (truth tables, consistency, coverage).
- ``minimise``: Boolean minimisation (complex, parsimonious, intermediate; every minimal model).
- ``sensitivity``: the QCA over alternative codes, scoring maps and thresholds.
- ``display``: tables as the chapter shows them (numbered captions, no index, no NaN).

Uses ``analysis.core``; never another strand or the engine.
"""

__all__ = [
    "central_authority",
    "charts",
    "conditions",
    "definitions",
    "display",
    "evidence",
    "framework",
    "minimise",
    "nuffield",
    "parameters",
    "published",
    "qca",
    "sensitivity",
    "sources",
    "typology",
]
