"""Shared by every strand: data in, checked numbers out.

- ``datasets``: reading CSV files against pandera schemas (errors name file, line, column).
- ``catalogue``: the data catalogues ``data/<strand>/datasets.yml`` (tier, source, licence).
- ``stats``: interval estimates, funnel limits, overdispersion, multiple testing, rounding.
- ``figures``: saving figures stamped with their data tier.
- ``provenance``: citing and finding passages of the source documents.
- ``reproduction``: published-against-reproduced checks and the report built from them.
- ``suppression``: disclosure control of small counts.

Imports nothing from the strands or the engine.
"""
