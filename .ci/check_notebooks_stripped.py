"""Pre-commit hook: fail, naming the file, when a notebook is stored with outputs.

Check only; `make strip` (``compendium strip``) removes the outputs.
"""

from __future__ import annotations

import sys

import nbformat

from analysis.compendium.notebooks import stripped


def main(paths: list[str]) -> int:
    dirty = []
    for path in paths:
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as error:  # an unreadable notebook is reported, not a traceback
            print(f"{path}: not a readable notebook ({error})")
            dirty.append(path)
            continue
        if nb != stripped(nb):
            print(f"{path}: stored with outputs or run metadata; run `make strip`")
            dirty.append(path)
    return 1 if dirty else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
