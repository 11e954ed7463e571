"""Strand 2, surveys (2015 practice and CCG surveys, staff survey, 2018 figures).

- ``published``: the transcribed key figures, ordinal findings, Table 1 and staff survey.
- ``rounding``: the counts and denominators a printed percentage allows; Wilson intervals.
- ``quarter_rule``: Table 1's quarter rule in its two readings.
- ``over_time``: collaboration in 2015 beside the 2018 figures.
- ``published_checks``: reproduction checks from the published figures alone.
- ``figures``: the figures of the published figures.
- ``microdata``: respondent-level schemas, reading and preparing a microdata file.
- ``reconstruction``: the synthetic respondent-level reconstruction
  (``python -m analysis.survey.reconstruction --write``).
- ``tabulation``: subgroup tables with small-cell suppression, and their figure.
- ``microdata_checks``: every published marginal against the microdata.

Uses ``analysis.core``; never another strand or the engine.
"""

__all__ = [
    "figures",
    "microdata",
    "microdata_checks",
    "over_time",
    "published",
    "published_checks",
    "quarter_rule",
    "reconstruction",
    "rounding",
    "tabulation",
]
