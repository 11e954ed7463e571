"""Strand 2, surveys (2015 practice and CCG surveys, staff survey, 2018 figures).

- ``published``: transcribed key figures, Table 1 and the staff survey, rounding intervals.
- ``microdata``: the synthetic respondent-level reconstruction and its tabulation.

Uses ``analysis.core``; never another strand or the engine.
"""
