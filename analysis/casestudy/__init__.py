"""Strand 3, case studies (McDonald et al. 2020; Nuffield Table 2).

- ``coding``: coded evidence, published tables, the framework matrix and the typology.
- ``qca``: crisp-set qualitative comparative analysis.

Uses ``analysis.core``; never another strand or the engine.
"""
