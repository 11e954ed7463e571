"""The base of every error the compendium reports to a user (file, line, parameter named).

Kept free of imports so the command line can catch these without loading pandas.
"""


class CompendiumError(Exception):
    """An input, parameter or run problem whose message tells the user what to fix."""
