"""How busy the machine was during each benchmark measurement, and how much the repeats spread.

Every command :func:`analysis.compendium.benchtools.timed` runs is recorded here with the
one-minute load average just before it started and sampled while it ran (:class:`LoadLog`).
A measurement is *busy* when other work competed with it: the load before it exceeded
:data:`BUSY_BEFORE_PER_CORE` per core, or its peak exceeded what the measurement itself can
account for (its own processes, at most one per core) by :data:`BUSY_EXTRA_PER_CORE` per
core. The one-minute average lags, so the flag is a warning sign, not a proof of quiet.

Pure functions turn the records into the Performance page's *Machine load* and *Spread*
tables; nothing here judges targets.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

BUSY_BEFORE_PER_CORE = 0.5
BUSY_EXTRA_PER_CORE = 0.5
SAMPLE_SECONDS = 0.5


def load_average() -> float:
    """The one-minute load average (runnable and waiting processes)."""
    return os.getloadavg()[0]


class LoadLog:
    """Every timed command of a benchmark run with the load around it."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    @contextmanager
    def measure(self, label: str) -> Iterator[dict[str, Any]]:
        """Record the load before and, sampled every half second, during the block."""
        record: dict[str, Any] = {"command": label, "load_before": load_average()}
        samples: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(SAMPLE_SECONDS):
                samples.append(load_average())

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        started = time.perf_counter()
        try:
            yield record
        finally:
            stop.set()
            thread.join()
            samples.append(load_average())
            record.update(
                seconds=time.perf_counter() - started,
                load_during_median=statistics.median(samples),
                load_during_peak=max(samples),
            )
            self.records.append(record)

    def since(self, start: int) -> list[dict[str, Any]]:
        """Records made after the first ``start`` ones."""
        return self.records[start:]


LOG = LoadLog()


def is_busy(record: dict[str, Any], cores: int) -> bool:
    """Whether other work competed with a measurement (see the module's definition)."""
    before = record["load_before"] > BUSY_BEFORE_PER_CORE * cores
    peak = record["load_during_peak"] > cores + BUSY_EXTRA_PER_CORE * cores
    return before or peak


def section_load(records: list[dict[str, Any]], cores: int) -> dict[str, Any]:
    """Summary of the load over one section's commands."""
    if not records:
        return {"commands": 0, "busy": 0}
    return {
        "commands": len(records),
        "busy": sum(is_busy(r, cores) for r in records),
        "before_min": min(r["load_before"] for r in records),
        "before_max": max(r["load_before"] for r in records),
        "during_median": statistics.median(r["load_during_median"] for r in records),
        "during_peak": max(r["load_during_peak"] for r in records),
    }


def machine_state(loads: dict[str, dict[str, Any]]) -> str:
    """``quiet`` when no command of any section was busy, else ``busy``."""
    return "busy" if any(v.get("busy") for v in loads.values()) else "quiet"


def load_rows(loads: dict[str, dict[str, Any]], cores: int) -> list[dict[str, str]]:
    """The *Machine load* table: one row per measured section."""
    rows = []
    for section, v in loads.items():
        if not v.get("commands"):
            continue
        rows.append(
            {
                "measurement": section,
                "commands": str(v["commands"]),
                "load before (min to max)": f"{v['before_min']:.1f} to {v['before_max']:.1f}",
                "load during (median / peak)": (
                    f"{v['during_median']:.1f} / {v['during_peak']:.1f}"
                ),
                "machine": f"busy ({v['busy']} of {v['commands']})" if v["busy"] else "quiet",
            }
        )
    return rows


def spread(values: list[float] | None) -> dict[str, float] | None:
    """Median, minimum, maximum and count of repeated measurements (None when empty)."""
    values = [v for v in values or [] if v is not None]
    if not values:
        return None
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def paired_speedups(serial: list[float], parallel: list[float]) -> list[float]:
    """Speed-up of each interleaved pair of runs (serial i / parallel i)."""
    return [s / p for s, p in zip(serial, parallel, strict=False) if p]


def spread_rows(raw: dict[str, Any]) -> list[dict[str, str]]:
    """The *Spread* table: every repeated timing with its median, range and count."""
    series: list[tuple[str, list[float] | None]] = []
    pipe = raw.get("pipeline") or {}
    series += [
        ("compendium run, cold, parallel (s)", pipe.get("cold")),
        ("compendium run, cold, --jobs 1 (s)", pipe.get("serial")),
        ("compendium run, no-op (s)", pipe.get("noop")),
        ("compendium book (s)", raw.get("book")),
    ]
    ind = raw.get("independent") or {}
    series += [
        ("independent notebooks, --jobs 1 (s)", ind.get("serial")),
        ("independent notebooks, parallel (s)", ind.get("parallel")),
        (
            "speed-up on independent notebooks, per pair (x)",
            paired_speedups(ind.get("serial") or [], ind.get("parallel") or []),
        ),
        ("speed-up on our notebooks, per pair (x)",
         paired_speedups(pipe.get("serial") or [], pipe.get("cold") or [])),
    ]  # fmt: skip
    for key, label in (
        ("papermill", "papermill loop (s)"),
        ("nbconvert", "jupyter nbconvert --execute (s)"),
        ("jb_cache_cold", "jupyter-book, cache, cold (s)"),
        ("jb_force", "jupyter-book, force (s)"),
    ):
        series.append((label, (raw.get("peers") or {}).get(key)))
    rows = []
    for label, values in series:
        s = spread(values)
        if s:
            rows.append(
                {
                    "measurement": label,
                    "median": f"{s['median']:.2f}",
                    "min": f"{s['min']:.2f}",
                    "max": f"{s['max']:.2f}",
                    "runs": str(s["n"]),
                }
            )
    return rows
