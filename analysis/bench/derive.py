"""Benchmark results as numbers: medians, floors, ratios, growth rates and the targets.

:func:`summarise` derives the numbers from the raw measurements of
:mod:`analysis.bench.measure` and :func:`targets` judges the pipeline's own targets on them;
:mod:`analysis.bench.tables` lays both out for the book. Pure functions; nothing
here runs or reads anything.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

import numpy as np

NOOP_TARGET_S = 2.0
COLD_TARGET_RATIO = 1.3
SPEEDUP_TARGET_PER_CORE = 0.8
FAR_FASTER = 5.0
GROWTH_TARGET = 1.1  # time ~ n^b: b <= 1 is linear; 0.1 allows for the machine's noise
NA = math.nan


def median(values: list[float]) -> float:
    """Median, or NaN for no values."""
    values = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(values) if values else NA


def ratio(a: float | None, b: float | None) -> float:
    """``a / b``; NaN when either is missing or ``b`` is 0."""
    if a is None or b is None or math.isnan(a) or math.isnan(b) or b == 0:
        return NA
    return a / b


def fmt(value: float | None, digits: int = 2) -> str:
    """A number for a table cell; ``n/a`` when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def growth_exponent(sizes: list[float], values: list[float]) -> float:
    """Slope ``b`` of ``log(value)`` on ``log(size)``: the value grows as ``size ** b``.

    Examples
    --------
    >>> round(growth_exponent([1, 10, 100], [2, 20, 200]), 6)
    1.0
    """
    pairs = [(s, v) for s, v in zip(sizes, values, strict=True) if v is not None and v > 0]
    if len(pairs) < 2:
        return NA
    x, y = np.log([p[0] for p in pairs]), np.log([p[1] for p in pairs])
    return float(np.polyfit(x, y, 1)[0])


def pipeline_floor(
    compute: dict[str, float],
    kernel: float,
    upstream: dict[str, list[str]],
    cores: int,
    tasks: dict[str, float] | None = None,
) -> dict[str, float]:
    """The least time the notebooks can take: their work spread over the cores, or the
    longest chain of dependent notebooks, whichever is larger.

    Parameters
    ----------
    compute
        Each notebook's own compute (seconds in its cells).
    kernel
        Kernel start-up and shutdown per notebook.
    upstream
        Each notebook's upstream notebooks, and ``sweep:<name>`` for a sweep it reads.
    cores
        Notebooks (or sweep tasks) that can run at once.
    tasks
        Seconds of each sweep task, keyed ``sweep:<name>/<task>`` (no kernel): work that
        runs before the notebooks reading ``sweep:<name>``.

    Returns
    -------
    dict
        ``work`` (kernel start-ups plus compute), ``spread`` (``work / cores``), ``chain``
        (longest dependent chain of kernel + compute) and ``floor`` (the larger of the two).
    """
    tasks = tasks or {}
    cost = {name: kernel + seconds for name, seconds in compute.items()} | tasks
    chain: dict[str, float] = {}

    def before_of(name: str) -> list[str]:
        found = []
        for u in upstream.get(name, []):
            found += [t for t in tasks if t.startswith(u + "/")] if u.startswith("sweep:") else [u]
        return found

    def longest(name: str) -> float:
        if name not in chain:
            before = [longest(u) for u in before_of(name) if u in cost]
            chain[name] = cost[name] + max(before, default=0.0)
        return chain[name]

    work = sum(cost.values())
    spread = work / max(cores, 1)
    longest_chain = max((longest(n) for n in cost), default=0.0)
    return {
        "work": work,
        "spread": spread,
        "chain": longest_chain,
        "floor": max(spread, longest_chain),
    }


# --------------------------------------------------------------------------- derived numbers


def _pipeline(raw: dict[str, Any], kernel: float, cores: int) -> dict[str, Any]:
    pipe = raw.get("pipeline")
    if not pipe:
        return {}
    compute = {n: median([c[n] for c in pipe["compute"]]) for n in raw["notebooks"]}
    runs = pipe.get("sweeps") or []
    tasks = {t: median([r[t] for r in runs if t in r]) for t in (runs[0] if runs else {})}
    out = {f"{k}_s": median(pipe[k]) for k in ("cold", "serial", "noop")}
    kernel = 0.0 if math.isnan(kernel) else kernel
    floor = pipeline_floor(compute, kernel, raw["upstream"], cores, tasks)
    out.update(compute=compute, tasks=tasks, floor=floor)
    out["speedup"] = ratio(out["serial_s"], out["cold_s"])
    out["ideal_speedup"] = ratio(floor["work"], floor["floor"])
    return out


def _change(raw: dict[str, Any]) -> dict[str, Any]:
    change = raw.get("change")
    if not change:
        return {}
    runs = change["runs"]
    return {
        "change": {k: v for k, v in change.items() if k != "runs"},
        "change_s": median([r["seconds"] for r in runs]),
        "change_only": all(r["only_changed"] for r in runs),
        "change_executed": sorted({n for r in runs for n in r["executed"]}),
    }


def _scaling_size(entry: dict[str, Any]) -> dict[str, Any]:
    runs = entry["runs"]
    steps = sorted({k for r in runs for k in r["analyse"]["steps"]})
    return {
        "n_practices": entry["n_practices"],
        "observations": runs[0]["generate"]["observations"],
        "generate_s": median([r["generate"]["seconds"] for r in runs]),
        "generate_mb": max(r["generate"]["extra_mb"] for r in runs),
        "analyse_s": median([r["analyse"]["seconds"] for r in runs]),
        "analyse_mb": max(r["analyse"]["extra_mb"] for r in runs),
        "peak_mb": max(r["analyse"]["peak_mb"] for r in runs),
        "steps": {k: median([r["analyse"]["steps"].get(k, NA) for r in runs]) for k in steps},
    }


def growth(sizes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Time (and memory) growth exponents per step over the panel sizes."""
    if len(sizes) < 2:
        return {}
    n = [x["n_practices"] for x in sizes]
    series = {
        "generate_panel": ([x["generate_s"] for x in sizes], [x["generate_mb"] for x in sizes]),
        "whole analysis": ([x["analyse_s"] for x in sizes], [x["analyse_mb"] for x in sizes]),
    }
    for step in sizes[-1]["steps"]:
        series[step] = ([x["steps"].get(step, NA) for x in sizes], None)
    return {
        step: {
            "seconds": times,
            "time_exponent": growth_exponent(n, times),
            "memory_exponent": growth_exponent(n, memory) if memory else NA,
        }
        for step, (times, memory) in series.items()
    }


def summarise(raw: dict[str, Any], cores: int, repeat: int) -> dict[str, Any]:
    """Derived numbers (medians, floors, ratios, exponents) from the raw measurements."""
    kernel = median(raw.get("kernel_floor") or [])
    s: dict[str, Any] = {"cores": cores, "repeat": repeat, "kernel": kernel}
    s.update(_pipeline(raw, kernel, cores))
    s.update(_change(raw))
    if raw.get("book"):
        s["book_s"] = median(raw["book"])
    independent = raw.get("independent")
    if independent:
        s["independent"] = {k: median(independent[k]) for k in ("serial", "parallel")}
        s["independent"]["notebooks"] = independent["notebooks"]
        s["independent_speedup"] = ratio(s["independent"]["serial"], s["independent"]["parallel"])
    s["peers"] = {k: median(v) for k, v in (raw.get("peers") or {}).items() if v}
    s["scaling"] = [_scaling_size(entry) for entry in raw.get("scaling") or []]
    s["growth"] = growth(s["scaling"])
    return s


# --------------------------------------------------------------------------- targets


def peer_times(s: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Cold and rerun seconds of each peer (a peer without a cache reruns at cold cost)."""
    p = s.get("peers", {})
    return {
        "papermill loop (sequential)": (p.get("papermill", NA), p.get("papermill", NA)),
        "jupyter nbconvert --execute": (p.get("nbconvert", NA), p.get("nbconvert", NA)),
        "jupyter-book build, execute cache": (
            p.get("jb_cache_cold", NA),
            p.get("jb_cache_rerun", NA),
        ),
        "jupyter-book build, execute force": (p.get("jb_force", NA), p.get("jb_force", NA)),
    }


def _target(name: str, measured: str, ok: bool | None, note: str = "") -> dict[str, str]:
    result = "n/a" if ok is None else ("met" if ok else "missed")
    return {"target": name, "measured": measured, "result": result, "note": note}


def known(*values: Any) -> bool:
    return all(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in values)


def _cold_target(s: dict[str, Any]) -> dict[str, str]:
    floor = s.get("floor", {}).get("floor", NA)
    cold = s.get("cold_s", NA)
    r = ratio(cold, floor)
    note = ""
    if known(r) and r > COLD_TARGET_RATIO:
        note = (
            f"overhead {fmt(cold - floor)} s over the floor; the CLI's own start-up and "
            f"bookkeeping alone (a no-op rerun) take {fmt(s.get('noop_s'))} s"
        )
    measured = f"{fmt(r)} x ({fmt(cold)} s against a floor of {fmt(floor)} s)"
    return _target(
        "cold run within 1.3 x the floor",
        measured,
        r <= COLD_TARGET_RATIO if known(r) else None,
        note,
    )


def _noop_target(s: dict[str, Any]) -> dict[str, str]:
    noop = s.get("noop_s", NA)
    ok = noop < NOOP_TARGET_S if known(noop) else None
    return _target("no-op rerun under 2 s", f"{fmt(noop)} s", ok)


def _change_target(s: dict[str, Any]) -> dict[str, str]:
    if "change" not in s:
        return _target("a one-parameter change re-runs only that notebook", "n/a", None)
    change = s["change"]
    measured = (
        f"{change['notebook']}.{change['parameter']} = {change['value']!r}: ran "
        f"{', '.join(s['change_executed']) or 'nothing'} in {fmt(s['change_s'])} s"
    )
    note = f"expected {', '.join(change['expected'])} (the notebook and its dependants)"
    return _target(
        "a one-parameter change re-runs only that notebook", measured, s["change_only"], note
    )


def _speedup_targets(s: dict[str, Any]) -> list[dict[str, str]]:
    cores = s["cores"]
    goal = SPEEDUP_TARGET_PER_CORE * cores
    independent = s.get("independent_speedup", NA)
    ours = s.get("speedup", NA)
    ideal = s.get("ideal_speedup", NA)
    count = s.get("independent", {}).get("notebooks", "n/a")
    rows = [
        _target(
            f"parallel speed-up >= {goal:.1f} x on independent notebooks",
            f"{fmt(independent)} x with --jobs {cores}",
            independent >= goal if known(independent) else None,
            f"{count} synthetic notebooks of equal CPU time",
        )
    ]
    note = f"these notebooks allow at most {fmt(ideal)} x (unequal lengths, dependencies)"
    rows.append(
        _target(
            f"parallel speed-up >= {goal:.1f} x on our notebooks",
            f"{fmt(ours)} x with --jobs {cores}",
            ours >= min(goal, SPEEDUP_TARGET_PER_CORE * ideal) if known(ours, ideal) else None,
            note + f"; judged against {SPEEDUP_TARGET_PER_CORE} x that bound",
        )
    )
    return rows


def _like_for_like(s: dict[str, Any], ours: float, jupyter_book: float, label: str) -> str:
    """How our run plus our book build compares with a jupyter-book build (which renders)."""
    book = s.get("book_s", NA)
    if not known(ours, book, jupyter_book):
        return ""
    total = ours + book
    return (
        f"with our book build added ({fmt(total)} s), jupyter-book {label} takes "
        f"{fmt(ratio(jupyter_book, total))} x our time"
    )


def _peer_targets(s: dict[str, Any]) -> list[dict[str, str]]:
    times = peer_times(s)
    cold = {k: v[0] for k, v in times.items() if known(v[0])}
    rerun = {k: v[1] for k, v in times.items() if known(v[1])}
    ours_cold, ours_rerun = s.get("cold_s", NA), s.get("noop_s", NA)
    jb_cache = times["jupyter-book build, execute cache"]
    rows = []
    if cold and known(ours_cold):
        name = min(cold, key=cold.get)
        slower = [k for k, v in cold.items() if v <= ours_cold]
        notes = [f"as fast as or faster than ours: {', '.join(slower)}"] if slower else []
        notes.append(_like_for_like(s, ours_cold, jb_cache[0], "(cache mode, cold)"))
        rows.append(
            _target(
                "faster than every peer on a cold run",
                f"fastest peer ({name}) takes {fmt(ratio(cold[name], ours_cold))} x our time",
                not slower,
                "; ".join(n for n in notes if n),
            )
        )
    if rerun and known(ours_rerun):
        name = min(rerun, key=rerun.get)
        r = ratio(rerun[name], ours_rerun)
        rows.append(
            _target(
                f"far faster than every peer on a rerun (>= {FAR_FASTER:.0f} x)",
                f"fastest peer ({name}) takes {fmt(r)} x our time",
                r >= FAR_FASTER,
                _like_for_like(s, ours_rerun, jb_cache[1], "(cache mode, rerun)"),
            )
        )
    return rows


def _growth_target(s: dict[str, Any]) -> dict[str, str]:
    whole = s.get("growth", {}).get("whole analysis", {})
    b = whole.get("time_exponent", NA)
    sizes = ", ".join(f"{x['n_practices']:,}" for x in s.get("scaling", []))
    return _target(
        "analysis time grows no worse than linearly with panel size",
        f"time ~ n^{fmt(b)} over {sizes or 'n/a'} practices",
        b <= GROWTH_TARGET if known(b) else None,
        f"linear is n^1; up to n^{GROWTH_TARGET} is accepted as noise",
    )


def targets(s: dict[str, Any]) -> list[dict[str, str]]:
    """Every target of the pipeline with the measured value and whether it is met."""
    return [
        _cold_target(s),
        _noop_target(s),
        _change_target(s),
        *_speedup_targets(s),
        *_peer_targets(s),
        _growth_target(s),
    ]
