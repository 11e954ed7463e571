"""Methods: the statistics of the quality-indicator analysis, on tables from ``sources``.

``selection`` (the parameters checked against a panel, the one table every analysis takes),
``comparators`` (England or the rest of England), ``comparison`` (analyses 1 and 3: each
organisation against England), ``trends`` and ``trend_fe`` (analysis 2: trend GLMs, pooled and
with practice fixed effects), ``variation`` (analysis 4), ``associations`` (analysis 5),
``summary`` (analysis 6), ``mixed`` (random-intercept REML in closed form), ``truth`` (estimates
beside a synthetic panel's planted truth) and ``results`` (every analysis of one selection and
the tables a run writes).

Imports ``sources`` only; the chapters and the synthetic studies call these.
"""
