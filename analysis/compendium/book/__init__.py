"""The book: the Jupyter Book built from the executed notebooks, in one direction.

``compendium book`` runs :func:`.build.build_book`, whose data passes through five steps, each
a module that never imports the one after it:

1. collect (``collect``): the chapters' verified runs, the reproduction report's tables;
2. derive pages (``status``, ``reproducibility``, ``datapage``, ``performance``,
   ``certify`` with ``codecheckspec``, ``landing``, ``made``, ``sentences``; Markdown helpers
   in ``markdown``): each generated page from the collected runs, the catalogue, the
   benchmarks' kept results;
3. assemble (``assemble``): the book's sources, chapters and pages written into a folder;
4. build (``build``): Jupyter Book turns them into HTML, swapped in only when whole;
5. record (``buildcache``): the book's cache key, so an unchanged book is not built again,
   and the Sphinx folder that lets a rebuild re-read only the changed pages.

``pdf`` prints the assembled sources as one PDF (``make pdf``). Nothing is imported here:
the check that the book is up to date (``buildcache``) must not pay for the builder's imports.
"""
