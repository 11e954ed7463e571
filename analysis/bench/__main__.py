"""``python -m analysis.bench`` (``make bench``): see :mod:`analysis.bench.command`."""

from analysis.bench.command import main
from analysis.errors import run_main

raise SystemExit(run_main(main))
