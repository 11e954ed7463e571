"""The ``compendium`` command: run notebooks, report status, build the book.

Examples
--------
compendium status
compendium run                       # every notebook that is stale, in parallel
compendium run quality_indicators -p alpha=0.01 -p organisations='["ORG01","ORG02"]'
compendium book
compendium certify                   # build/codecheck.yml for a codechecker to sign
compendium clean --failed --set p-1a2b3c4d5e   # remove failed runs and one parameter set
compendium sweep simulation                       # a LocalCluster of 2 one-thread workers
compendium sweep simulation --scheduler tcp://host:8786
compendium sweep simulation --cluster slurm --config slurm.yml --workers 4
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from concurrent.futures import CancelledError
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from analysis.commandline import usage_error
from analysis.compendium import pipeline as pl
from analysis.errors import CompendiumError, ServiceError
from analysis.paths import path_argument

# Nothing printed is read as rich markup: a value holding "[/]" is shown as it is.
console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)
STYLE = {"executed": "green", "cached": "cyan", "failed": "bold red", "skipped": "yellow"}


class ProgressBoard:
    """Which notebooks are running, done, cached or failed, with elapsed time."""

    def __init__(self, names: list[str]) -> None:
        self.state: dict[str, tuple[str, float, str]] = {n: ("waiting", 0.0, "") for n in names}
        self.started: dict[str, float] = {}
        self.t0 = time.perf_counter()
        self.live: Live | None = None

    def __call__(self, event: Any) -> None:
        from analysis.compendium.outcome import Outcome

        if isinstance(event, Outcome):
            self.state[event.name] = (event.status, event.seconds, event.message)
            if not console.is_terminal:
                seconds = f" {event.seconds:.1f} s" if event.status == "executed" else ""
                status = (f"{event.status:9}", STYLE[event.status])
                console.print(Text.assemble(status, f" {event.name}{seconds}"))
        elif event[0] == "progress":  # ("progress", name, "2/4 tasks done")
            _, name, text = event
            self.state[name] = ("running", 0.0, text)
            if not console.is_terminal:
                console.print(Text(f"running   {name}: {text}"))
        else:
            _, name = event
            self.started[name] = time.perf_counter()
            self.state[name] = ("running", 0.0, "")
            if not console.is_terminal:
                console.print(Text(f"running   {name}"))
        if self.live:
            self.live.update(self.render())

    def render(self) -> Table:
        table = Table(title=f"compendium run ({time.perf_counter() - self.t0:.1f} s)", box=None)
        for column in ("notebook", "status", "time"):
            table.add_column(column)
        for name, (status, seconds, note) in self.state.items():
            if status == "running":
                seconds = time.perf_counter() - self.started.get(name, self.t0)
            shown = f"{seconds:.1f} s" if status in ("running", "executed", "failed") else ""
            label = f"{status} ({note})" if status == "running" and note else status
            table.add_row(Text(name), Text(label, style=STYLE.get(status, "white")), shown)
        return table


def _parameters(assignments: list[str]) -> dict[str, Any]:
    return dict(pl.parse_assignment(a) for a in assignments)


def cmd_list(args: argparse.Namespace) -> int:
    pipeline = pl.load(args.pipeline)
    for name in pipeline.order():
        nb = pipeline.notebook(name)
        print(f"{name}: {nb.title} ({nb.source})")
        for param in nb.parameters.values():
            extra = f" choices={list(param.choices)}" if param.choices else ""
            print(f"    {param.name} ({param.type}) = {param.default!r}{extra}  {param.help}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from analysis.compendium import sweep as sw
    from analysis.compendium.execute import status
    from analysis.compendium.sweepsteps import sweeps_of

    pipeline = pl.load(args.pipeline)
    for name in sweeps_of(pipeline, pipeline.order()):
        declared = sw.get_sweep(pipeline, name)
        all_tasks = sw.tasks(declared, pipeline)
        if sw.is_current(declared, pipeline, all_tasks):
            print(f"{pl.SWEEP_REF + name:24} fresh")
        else:
            todo = sum(not sw.is_done(t) for t in all_tasks)
            print(f"{pl.SWEEP_REF + name:24} stale  ({todo} task(s) to run, then gathered)")
    from analysis.compendium import housekeeping as hk

    others: dict[str, list] = {}
    for folder in hk.run_folders(pipeline):
        others.setdefault(folder.notebook, []).append(folder)
    for plan in status(pipeline):
        state = "fresh" if plan.fresh else "stale"
        why = f"  ({'; '.join(plan.reasons)})" if plan.reasons else ""
        print(f"{plan.notebook.name:24} {state}{why}")
        for folder in others.get(plan.notebook.name, []):
            size, age = hk.describe_size(folder.bytes), hk.describe_age(folder.age_seconds)
            values = "" if folder.failed else f"  {hk.parameters_of(folder.path)}"
            print(f"  {folder.name:22} {folder.state}, {size}, {age}{values}")
    if others:
        print("remove sets or failed folders with `compendium clean --set NAME` or `--failed`")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    from analysis.compendium import housekeeping as hk

    pipeline = pl.load(args.pipeline)
    for name in args.notebooks:
        pipeline.notebook(name)
    if not (args.set or args.all_sets or args.failed):
        console.print("removing temporary folders only (choose --set, --all-sets or --failed)")
    done = hk.clean(
        pipeline, args.notebooks, sets=args.set, all_sets=args.all_sets, failed=args.failed
    )
    for line in done:
        console.print(Text(line))
    console.print(f"{len(done)} change(s)" if done else "nothing to remove")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from analysis.compendium.runner import run, run_lock, write_pipeline_manifest
    from analysis.compendium.sweepsteps import sweeps_of

    pipeline = pl.load(args.pipeline)
    overrides = _parameters(args.param)
    names = args.notebooks or []
    for name in names:
        pipeline.notebook(name)
    selected = pipeline.order(names or None)
    board = ProgressBoard([*(pl.SWEEP_REF + s for s in sweeps_of(pipeline, selected)), *selected])
    command = "compendium " + " ".join(sys.argv[1:])
    started = time.perf_counter()
    with run_lock(command):
        with (
            Live(board.render(), console=console, refresh_per_second=4, transient=False)
            if console.is_terminal
            else _null() as live
        ):
            board.live = live
            outcomes = run(
                pipeline, names, overrides, force=args.force, jobs=args.jobs, report=board
            )
        elapsed = time.perf_counter() - started
        counts = {s: sum(o.status == s for o in outcomes) for s in STYLE}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        console.print(f"{summary} in {elapsed:.1f} s")
        # The notebooks' own errors first: a failure to write the manifest must not hide them.
        for outcome in outcomes:
            if outcome.status == "executed" and overrides:
                console.print(f"results for this parameter set: {outcome.folder}")
            if outcome.status in ("failed", "skipped"):
                _error(f"{outcome.name}: {outcome.message}" if outcome.status == "skipped"
                       else outcome.message)  # fmt: skip
        write_pipeline_manifest(pipeline)
    return 1 if counts["failed"] or counts["skipped"] else 0


def _error(message: str) -> None:
    console.print(Text.assemble(("error:", "bold red"), " ", message))


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def cmd_book(args: argparse.Namespace) -> int:
    from analysis.compendium.book import buildcache

    pipeline = pl.load(args.pipeline)
    if buildcache.is_fresh(pipeline):  # checked before importing the builder (slow imports)
        console.print(f"book up to date: {buildcache.html_dir() / 'index.html'}")
        return 0
    from analysis.compendium.book.build import build_book

    path = build_book(pipeline)
    console.print(f"book built: {path}")
    return 0


def cmd_certify(args: argparse.Namespace) -> int:
    from analysis.compendium.book.certify import write_codecheck

    path = write_codecheck(pl.load(args.pipeline))
    console.print(f"CODECHECK configuration written (unsigned): {path}")
    return 0


def cmd_strip(args: argparse.Namespace) -> int:
    from analysis.compendium.notebooks import strip_notebook

    pipeline = pl.load(args.pipeline)
    changed = [nb.name for nb in pipeline.notebooks.values() if strip_notebook(nb.source)]
    print(f"stripped: {', '.join(changed) or 'nothing to strip'}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from analysis.compendium import sweep as sw

    pipeline = pl.load(args.pipeline)
    declared = sw.get_sweep(pipeline, args.sweep)
    started = time.perf_counter()

    def report(counts: dict) -> None:
        eta = counts["eta_seconds"]
        left = f", about {eta:.0f} s left" if eta == eta else ""
        console.print(
            f"sweep {declared.name}: {counts['done'] + counts['cached']}/{counts['total']} done "
            f"({counts['cached']} cached), {counts['running']} running, "
            f"{counts['failed']} failed{left}"
        )

    from analysis.compendium.atomic import build_lock

    with build_lock("compendium " + " ".join(sys.argv[1:])):
        client = None
        if not args.serial:
            client = sw.make_client(
                scheduler=args.scheduler,
                cluster=args.cluster,
                config=args.config,
                workers=args.workers,
            )
        try:
            result = sw.run_sweep(declared, pipeline, client=client, report=report)
        except (OSError, TimeoutError, CancelledError) as err:
            if client is None:
                raise
            raise ServiceError(
                f"sweep {declared.name}: the Dask cluster was lost ({type(err).__name__}: "
                f"{err}); finished tasks are kept: run the sweep again to resume"
            ) from None
        finally:
            with contextlib.suppress(OSError, TimeoutError, CancelledError):
                sw.close_client(client, own_cluster=not args.scheduler)
    console.print(
        f"{len(result.executed)} executed, {len(result.cached)} cached, "
        f"{len(result.failed)} failed in {time.perf_counter() - started:.1f} s"
    )
    for name, message in result.failed.items():
        _error(f"{declared.name} task {name}: {message}")
    if result.results:
        console.print(f"results: {result.results}")
    return 1 if result.failed else 0


class UsageError(CompendiumError):
    """A command-line argument the command cannot take; reported in one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (``error: ...``, exit 2), no usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(usage_error(self.prog, message))


def _positive(text: str) -> int:
    """A count of workers or jobs: a whole number of at least one (0 would wait for ever)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="compendium", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pipeline", type=path_argument, help="pipeline file (default: pipeline.yml in the repo)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="notebooks and their parameters").set_defaults(func=cmd_list)
    sub.add_parser("status", help="fresh or stale, and why").set_defaults(func=cmd_status)
    run_p = sub.add_parser("run", help="execute stale notebooks")
    run_p.add_argument("notebooks", nargs="*", help="notebooks to run (default: all)")
    run_p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="parameter value (YAML syntax); only with one notebook",
    )
    run_p.add_argument("--force", action="store_true", help="re-execute even when fresh")
    run_p.add_argument(
        "--jobs",
        "-j",
        type=_positive,
        default=os.cpu_count(),
        help="notebooks run at once (default: number of cores)",
    )
    run_p.set_defaults(func=cmd_run)
    sub.add_parser("book", help="build the Jupyter Book").set_defaults(func=cmd_book)
    sweep_p = sub.add_parser("sweep", help="run a declared parameter sweep on Dask")
    sweep_p.add_argument("sweep", help="sweep name (pipeline.yml, section sweeps)")
    sweep_p.add_argument(
        "--scheduler", help="address of a running Dask scheduler (tcp://host:8786)"
    )
    sweep_p.add_argument(
        "--cluster", default="local", choices=["local", "slurm"], help="cluster to start"
    )
    sweep_p.add_argument(
        "--config", type=path_argument, help="SLURM settings (YAML) for --cluster slurm"
    )
    sweep_p.add_argument(
        "--workers",
        type=_positive,
        default=2,
        help="worker processes (SLURM: jobs), one thread each",
    )
    sweep_p.add_argument("--serial", action="store_true", help="run the tasks here, without Dask")
    sweep_p.set_defaults(func=cmd_sweep)
    sub.add_parser("strip", help="remove outputs from notebooks").set_defaults(func=cmd_strip)
    clean_p = sub.add_parser(
        "clean", help="remove parameter sets, failed runs and leftover temporary folders"
    )
    clean_p.add_argument("notebooks", nargs="*", help="notebooks to clean (default: all)")
    clean_p.add_argument(
        "--set", action="append", default=[], metavar="NAME", help="a parameter set p-<hash>"
    )
    clean_p.add_argument("--all-sets", action="store_true", help="every non-default set")
    clean_p.add_argument("--failed", action="store_true", help="every failed-* folder")
    clean_p.set_defaults(func=cmd_clean)
    sub.add_parser(
        "certify", help="write build/codecheck.yml (CODECHECK configuration, unsigned)"
    ).set_defaults(func=cmd_certify)
    return parser


def _main(argv: list[str]) -> int:
    from analysis.parameters import PIPELINE_ENV

    args = build_parser().parse_args(argv)
    if args.pipeline:
        os.environ[PIPELINE_ENV] = str(os.path.abspath(args.pipeline))  # kernels inherit it
    return args.func(args)


def main(argv: list[str] | None = None) -> int:
    """The ``compendium`` command; ``--debug`` shows the traceback of an error."""
    from analysis.compendium.atomic import install_interrupt_handlers
    from analysis.errors import run_main

    install_interrupt_handlers()
    return run_main(_main, argv, write=lambda text: console.print(Text(text)))


if __name__ == "__main__":
    raise SystemExit(main())
