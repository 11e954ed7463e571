"""Shared, tested code for the large-scale general practice compendium.

Modules, one concept each:

- ``paths``: where the repository, its data and the build folder are.
- ``datasets``: reading data files against a schema, with errors that name file, row and column.
- ``stats``: interval estimates and multiple-testing corrections used by every strand.
- ``pipeline``, ``runner``, ``cli``, ``book``: the declared pipeline, its execution and the book.
- ``files``, ``catalogue``, ``provenance``, ``reproduction``, ``notebooks``: hashing and atomic
  writes, the data catalogue, citing source passages, published-against-reproduced checks,
  stripped notebooks.
- ``indicators``, ``indicator_figures``, ``indicator_statements``, ``panel``, ``fingertips``:
  the quality-indicator strand.
- ``survey``, ``survey_microdata``, ``suppression``: the survey tabulations strand.
- ``casestudy``, ``qca``: the case-study strand.
"""

__version__ = "0.1.0"
