"""Networks: the two chapters on today's primary care networks, on REAL published data.

The primary-care-network chapter: ``achievement`` (networks against England on QOF
achievement, variance partition, size associations), ``network_funnel`` (the funnel with the
between-network variance and the shuffled reference), ``network_run`` (parameters checked,
files read, tables made), ``network_findings`` (its results in words) and ``network_figures``.
The REAL networks chapter: ``real_inputs`` (every input file read and checked),
``real_levels`` (every PCN against England by the generic analysis), ``rule_trends`` (trends
under three membership rules), ``real_chapter`` (every table), ``real_sentences``,
``real_figures`` and ``real_bench`` (its benchmark workers, run as commands).

Imports ``sources`` and ``methods``; independent of the other chapters.
"""
