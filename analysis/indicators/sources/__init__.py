"""Sources: every reader of the quality-indicator strand's data, and the contract they check.

``schemas`` and ``contract`` (the tables of a panel, their schemas and the checks beyond),
``tablefiles`` (CSV or Parquet, read the same way), ``panelfiles`` (each file of a panel,
validated), ``panel`` (loading a panel, the stored synthetic panel's files), ``spells``
(membership spells into practice-year members). Published formats, each by a layout mapping
(``layouts``): ``fingertips`` (OHID exports), ``qof`` (NHS Digital QOF practice summaries),
``qofmembership`` (membership from their parent codes), ``structures`` (the yearly practice ->
PCN -> ICB mappings) and ``turnover`` (what changed between them), ``widetable`` (one row per
unit, columns per indicator), ``listsizes`` (the 2013 list sizes), ``membership``
(organisations from a parent-code column or a file).

Imports nothing else of the strand: the methods, the synthetic studies and the chapters read
their data through here.
"""
