"""Benchmark results as the tables and summary the book's Performance page shows.

:func:`report` turns the raw measurements of :mod:`analysis.bench.measure` into
``{"summary": markdown, "tables": {section: [row, ...]}}`` plus the derived numbers of
:func:`analysis.bench.derive.summarise`. Pure functions; nothing here runs or
reads anything.
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from typing import Any

from analysis.bench.derive import NA, fmt, known, peer_times, ratio, summarise, targets

# --------------------------------------------------------------------------- tables


def peer_rows(s: dict[str, Any]) -> list[dict[str, str]]:
    """Cold and rerun times of our pipeline and every peer, with ratios to ours."""
    ours_cold, ours_rerun = s.get("cold_s", NA), s.get("noop_s", NA)
    book = s.get("book_s", NA)
    rows = [
        ("compendium run", ours_cold, ours_rerun, "reruns only what changed"),
        (
            "compendium run, then compendium book",
            ours_cold + book,
            ours_rerun + book,
            "like for like with jupyter-book, which also renders HTML",
        ),
    ]
    notes = {
        "papermill loop (sequential)": "no cache: a rerun repeats the cold run",
        "jupyter nbconvert --execute": "no cache: a rerun repeats the cold run",
        "jupyter-book build, execute cache": "renders HTML; a rerun reuses jupyter-cache",
        "jupyter-book build, execute force": "renders HTML; re-executes on every build",
    }
    rows += [(name, c, r, notes[name]) for name, (c, r) in peer_times(s).items()]
    return [
        {
            "method": name,
            "cold (s)": fmt(cold),
            "rerun (s)": fmt(rerun),
            "cold / ours": fmt(ratio(cold, ours_cold)),
            "rerun / ours": fmt(ratio(rerun, ours_rerun)),
            "note": note,
        }
        for name, cold, rerun, note in rows
    ]


def floor_rows(s: dict[str, Any]) -> list[dict[str, str]]:
    """Kernel start-up, each notebook's own compute, the pipeline floor and our cold run."""
    rows = [("kernel start-up (an empty notebook through papermill)", s.get("kernel", NA))]
    if "floor" in s:
        f = s["floor"]
        rows += [(f"own compute: {n}", c) for n, c in s["compute"].items()]
        sweeps: dict[str, list[float]] = {}
        for task, seconds in (s.get("tasks") or {}).items():
            sweeps.setdefault(task.split("/", 1)[0], []).append(seconds)
        rows += [
            (f"{name}: {len(times)} task processes, longest {fmt(max(times))} s", sum(times))
            for name, times in sweeps.items()
        ]
        rows += [
            ("work: kernel start-ups + own compute + sweep tasks", f["work"]),
            (f"work over {s['cores']} cores", f["spread"]),
            ("longest chain of dependent notebooks", f["chain"]),
            ("pipeline floor (the larger of the two)", f["floor"]),
            ("compendium run, cold", s["cold_s"]),
            ("cold run / floor", ratio(s["cold_s"], f["floor"])),
        ]
    return [{"measure": m, "value": fmt(v)} for m, v in rows]


def ours_rows(s: dict[str, Any]) -> list[dict[str, str]]:
    """Our pipeline's own measurements."""
    rows = []
    if "cold_s" in s:
        rows += [
            (f"cold run, --jobs {s['cores']} (s)", s["cold_s"], ""),
            ("cold run, --jobs 1 (s)", s["serial_s"], ""),
            (
                "speed-up, serial / parallel",
                s["speedup"],
                f"at most {fmt(s['ideal_speedup'])} x here",
            ),
            ("no-op rerun (s)", s["noop_s"], "every notebook cached"),
        ]
    if "change" in s:
        c = s["change"]
        rows.append(
            (
                "one parameter default changed, whole pipeline rerun (s)",
                s["change_s"],
                f"{c['notebook']}.{c['parameter']} = {c['value']!r}; ran "
                f"{', '.join(s['change_executed'])}",
            )
        )
    if "book_s" in s:
        rows.append(("compendium book, HTML without execution (s)", s["book_s"], ""))
    if "independent" in s:
        ind = s["independent"]
        label = f"{ind['notebooks']} independent synthetic notebooks"
        rows += [
            (f"{label}, --jobs 1 (s)", ind["serial"], ""),
            (f"{label}, --jobs {s['cores']} (s)", ind["parallel"], ""),
            ("speed-up on independent notebooks", s["independent_speedup"], ""),
        ]
    return [{"measure": m, "value": fmt(v), "note": n} for m, v, n in rows]


def scaling_rows(s: dict[str, Any]) -> list[dict[str, str]]:
    """Time and extra peak memory of generation and analysis per panel size."""
    rows = []
    for size in s.get("scaling", []):
        for step, seconds, memory in (
            ("generate_panel", size["generate_s"], size["generate_mb"]),
            ("whole indicator analysis", size["analyse_s"], size["analyse_mb"]),
        ):
            rows.append(
                {
                    "practices": f"{size['n_practices']:,}",
                    "observations": f"{size['observations']:,}",
                    "step": step,
                    "seconds": fmt(seconds),
                    "extra peak memory (MB)": fmt(memory, 0),
                }
            )
    return rows


def growth_rows(s: dict[str, Any]) -> list[dict[str, str]]:
    """Growth exponents per step: time ~ n^b (1 is linear)."""
    return [
        {
            "step": step,
            "seconds at each size": " / ".join(fmt(t) for t in g["seconds"]),
            "time exponent b": fmt(g["time_exponent"]),
            "memory exponent": fmt(g["memory_exponent"]) if known(g["memory_exponent"]) else "",
        }
        for step, g in s.get("growth", {}).items()
    ]


def summary_text(s: dict[str, Any], raw: dict[str, Any], rows: list[dict[str, str]]) -> str:
    """The page's opening paragraph: when, where, how measured, which targets were missed."""
    load = [v for v in raw.get("load", []) if v is not None]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    lines = [
        f"Measured by `make bench` (`python -m analysis.bench`) on {when} UTC with "
        f"{s['cores']} cores and Python {platform.python_version()}; load average "
        f"{fmt(min(load, default=NA), 1)} to {fmt(max(load, default=NA), 1)} during the run. "
        f"Each time is the median of {s['repeat']} run(s). The machine is shared and noisy: "
        "read the ratios, not the seconds.",
        "",
        f"Notebooks measured: {', '.join(raw.get('notebooks', []))}.",
    ]
    missed = [r["target"] for r in rows if r["result"] == "missed"]
    if missed:
        lines += ["", "Targets missed: " + "; ".join(missed) + " (the notes say why)."]
    if raw.get("errors"):
        lines += ["", "Errors: " + "; ".join(e.splitlines()[0] for e in raw["errors"])]
    return "\n".join(lines)


NOTES = {
    "Targets": (
        "The pipeline's own targets (a cold run against its floor, a no-op rerun, a "
        "one-parameter change, the parallel speed-up, the usual ways of running notebooks, "
        "growth with panel size), each with the value measured here. A missed target's note "
        "says where the time goes."
    ),
    "Our pipeline against the usual ways of running notebooks": (
        "The same notebooks with their default parameters. *Cold*: nothing run before. "
        "*Rerun*: nothing changed since (our no-op rerun; jupyter-book's cache mode reuses "
        "its jupyter-cache; the others have no cache and repeat the whole run). The second "
        "row adds our book build, for a like-for-like comparison with jupyter-book, which "
        "also renders the HTML."
    ),
    "Floors": (
        "The least the pipeline could take: every notebook needs a kernel (started, run, "
        "stopped: an empty notebook through papermill) and its own compute (the seconds "
        "papermill records in its cells). Spread over the cores, but never less than the "
        "longest chain of notebooks that wait for one another."
    ),
    "Analysis on growing synthetic national panels": (
        "The quality-indicator analysis with default parameters on SYNTHETIC panels made "
        "by `analysis.indicators.synthetic.panel.generate_panel`, each size in fresh processes; "
        "memory is the peak resident memory above the process's level before the step."
    ),
    "Growth with panel size": (
        "Each step's time (and memory) fitted as a power of the number of practices, "
        "`seconds ~ n^b`: b = 1 is linear; fixed costs (model fits per organisation and "
        "indicator) give b below 1 at small sizes."
    ),
}


def report(raw: dict[str, Any], cores: int, repeat: int) -> dict[str, Any]:
    """The results document: summary, tables for the book, derived and raw numbers."""
    s = summarise(raw, cores, repeat)
    rows = targets(s)
    tables = {
        "Targets": rows,
        "Our pipeline against the usual ways of running notebooks": peer_rows(s),
        "Floors": floor_rows(s),
        "Our pipeline": ours_rows(s),
        "Analysis on growing synthetic national panels": scaling_rows(s),
        "Growth with panel size": growth_rows(s),
    }
    return {
        "summary": summary_text(s, raw, rows),
        "tables": {k: v for k, v in tables.items() if v},
        "notes": {k: v for k, v in NOTES.items() if tables.get(k)},
        "derived": s,
        "raw": raw,
    }
