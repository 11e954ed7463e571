"""Report: the quality-indicator chapter as the 2016 study's analysis redone on any panel.

``chapter`` (what a run analysed and set aside, which figures it draws and what it found, in
words from its tables), ``statements`` (the published findings judged against a run),
``methods_report`` (this chapter's methods beside the methods as published), ``figures`` (the
study figures) and ``scalefigures`` (the same results bounded for hundreds of organisations).

Imports ``sources`` and ``methods``; independent of the other chapters.
"""
