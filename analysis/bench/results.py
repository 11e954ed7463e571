"""The results document of ``make bench``: every table, its note, the machine's load.

:func:`results` lays out the raw measurements of :mod:`analysis.bench.measure`: the
pipeline's own tables (:mod:`analysis.bench.tables`), the further targets
(:mod:`analysis.bench.targets`), a summary naming every missed target, and each target
marked busy or quiet by the load of the sections it rests on (:data:`TARGET_SECTIONS`).
Pure functions: nothing here runs or writes anything.
"""

from __future__ import annotations

from typing import Any

from analysis.bench import targets as tg
from analysis.bench.derive import SPEEDUP_TARGET_PER_CORE
from analysis.bench.load import (
    BUSY_BEFORE_PER_CORE,
    BUSY_EXTRA_PER_CORE,
    BUSY_OTHER_SHARE,
    load_rows,
    machine_state,
    section_load,
    spread_rows,
)
from analysis.bench.tables import report

#: The tables whose rows are targets (met, missed or n/a), in the order they are listed.
TARGET_TABLES = ("Targets", tg.RERUNS, tg.ANALYSIS, tg.REAL, tg.ENGLAND)

# Which measured section each target of the Targets table rests on.
TARGET_SECTIONS = {
    "cold run": ("kernel_floor", "pipeline"),
    "no-op rerun": ("pipeline",),
    "a one-parameter change": ("change",),
    "parallel speed-up >= {goal} x on independent": ("independent",),
    "parallel speed-up >= {goal} x on our": ("pipeline",),
    "faster than every peer": ("pipeline", "peers"),
    "far faster than every peer": ("pipeline", "peers"),
    "analysis time grows": ("scaling",),
    "make all with nothing changed": ("pipeline", "book_rebuilds"),
    "compendium book after one chapter": ("book_rebuilds",),
    "parallel speed-up at least": ("independent",),
    "quality-indicator notebook": ("pipeline",),
    "one full analysis": ("scaling",),
    "sweep speed-up": ("sweep",),
    "Dask overhead": ("sweep",),
    "REAL chapter": ("realchapter",),
    "all PCNs x the 49 indicators": ("england",),
    "peak memory of that analysis": ("england",),
}


def mark_load(results: dict[str, Any], raw: dict[str, Any], cores: int) -> None:
    """Add the load of every section, busy marks on the targets and the spread of repeats."""
    loads = {key: section_load(records, cores) for key, records in raw["commands"].items()}
    goal = f"{SPEEDUP_TARGET_PER_CORE * cores:.1f}"
    rows = [row for table in TARGET_TABLES for row in results["tables"].get(table, [])]
    for row in rows:
        sections = next(
            (
                v
                for k, v in TARGET_SECTIONS.items()
                if row["target"].startswith(k.format(goal=goal))
            ),
            (),
        )
        busy = [s for s in sections if loads.get(s, {}).get("busy")]
        row["machine"] = "busy" if busy else ("quiet" if sections else "n/a")
    state = machine_state(loads)
    results["machine"] = state
    results["loads"] = loads
    note = (
        "**Measured on a busy machine**: other work competed with at least one measurement "
        "(see *Machine load*): its times are likely inflated and its parallel speed-ups "
        "understated, since other work held some of the cores."
        if state == "busy"
        else "No measurement competed with other work (see *Machine load*)."
    )
    results["summary"] = note + "\n\n" + results["summary"]
    results["tables"]["Machine load"] = load_rows(loads, cores)
    results["tables"]["Spread of the repeated runs"] = spread_rows(raw)
    results["notes"]["Machine load"] = LOAD_NOTE.format(
        share=BUSY_OTHER_SHARE,
        before=BUSY_BEFORE_PER_CORE * cores,
        peak=cores + BUSY_EXTRA_PER_CORE * cores,
    )
    results["notes"]["Spread of the repeated runs"] = (
        "Median, fastest and slowest of the repeated runs behind each median above; a speed-up "
        "per pair divides the serial run by the parallel run made right after it."
    )
    results["tables"] = {k: v for k, v in results["tables"].items() if v}


LOAD_NOTE = (
    "*Other work* is the CPU time the machine spent busy while a command ran (from "
    "/proc/stat, including time stolen by other virtual machines) minus the CPU time of the "
    "benchmark and of every process it started, as a share of all cores over the command's "
    "wall time. A command counts as busy when other work took more than {share:.0%} of the "
    "machine. The one-minute load average before each command and sampled every half second "
    "while it ran is shown for information only: it lags by a minute, so right after one of "
    "our own measurements it still counts that measurement's processes. (Without /proc/stat, "
    "the load decides: busy above {before:.1f} before the command or {peak:.1f} during it.)"
)


def missed_note(results: dict[str, Any]) -> str:
    """The summary's sentence on the missed targets of the further tables (the pipeline's own
    are in the summary already)."""
    missed = [
        row["target"]
        for table in TARGET_TABLES[1:]
        for row in results["tables"].get(table, [])
        if row["result"] == "missed"
    ]
    if not missed:
        return ""
    return "\n\nOther targets missed: " + "; ".join(missed) + " (their rows say by how much)."


def results(raw: dict[str, Any], cores: int, repeat: int) -> dict[str, Any]:
    """Every table with its note, the summary and the load marks, from the raw measurements."""
    out = report(raw, cores, repeat)
    out["tables"][tg.RERUNS] = tg.rerun_rows(raw, out["derived"])
    out["tables"][tg.ANALYSIS] = tg.analysis_rows(raw)
    out["tables"][tg.SWEEPS] = tg.sweep_rows(raw)
    out["tables"][tg.REAL] = tg.real_chapter_rows(raw)
    out["tables"][tg.ENGLAND] = tg.england_rows(raw)
    out["notes"].update(tg.NOTES)
    out["summary"] += missed_note(out)
    mark_load(out, raw, cores)
    return out
