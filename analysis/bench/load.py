"""How busy the machine was during each benchmark measurement, and how much the repeats spread.

Every command :func:`analysis.bench.tools.timed` runs is recorded here
(:class:`LoadLog`) with the CPU time *other* work used while it ran: the machine's busy CPU
time (``/proc/stat``, including time stolen by other virtual machines) minus the CPU time of
this process and of the processes it waited for (the measured command and everything it
started), as a share of the cores over the command's wall time. A measurement is *busy*
when that share exceeded :data:`BUSY_OTHER_SHARE`. The one-minute load average before and
during the command is recorded too, for information: it lags by a minute, so right after one
of our own measurements it still counts that measurement's processes. Where ``/proc/stat``
is missing, the load average decides: busy when it exceeded :data:`BUSY_BEFORE_PER_CORE` per
core before the command, or :data:`BUSY_EXTRA_PER_CORE` per core beyond the command's own
processes while it ran.

Pure functions turn the records into the Performance page's *Machine load* and *Spread*
tables; nothing here judges targets.
"""

from __future__ import annotations

import os
import resource
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BUSY_OTHER_SHARE = 0.10  # other work used more than a tenth of the machine
BUSY_BEFORE_PER_CORE = 0.5
BUSY_EXTRA_PER_CORE = 0.5
SAMPLE_SECONDS = 0.5
STAT = Path("/proc/stat")


def load_average() -> float:
    """The one-minute load average (runnable and waiting processes)."""
    return os.getloadavg()[0]


def machine_cpu_seconds() -> float | None:
    """CPU seconds all cores have spent busy since boot (None without ``/proc/stat``).

    Busy is user, nice, system, irq, softirq and steal time; idle and iowait are not.
    """
    try:
        fields = STAT.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of every process it has waited for (and theirs)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def other_share(machine: float, own: float, seconds: float, cores: int) -> float:
    """Share of ``cores`` over ``seconds`` that other work used: machine CPU minus ours.

    Clipped to [0, 1]: /proc/stat and the processes' own times are counted at different
    moments and in different ticks, so on a saturated machine the difference can pass 1.
    """
    if seconds <= 0:
        return 0.0
    return min(1.0, max(0.0, machine - own) / (seconds * max(cores, 1)))


class LoadLog:
    """Every timed command of a benchmark run with the load around it."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    @contextmanager
    def measure(self, label: str) -> Iterator[dict[str, Any]]:
        """Record the load before and, sampled every half second, during the block."""
        record: dict[str, Any] = {"command": label, "load_before": load_average()}
        machine_before, own_before = machine_cpu_seconds(), own_cpu_seconds()
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
            seconds = time.perf_counter() - started
            machine_after = machine_cpu_seconds()
            record.update(
                seconds=seconds,
                load_during_median=statistics.median(samples),
                load_during_peak=max(samples),
                other_cpu_share=(
                    None
                    if machine_before is None or machine_after is None
                    else other_share(
                        machine_after - machine_before,
                        own_cpu_seconds() - own_before,
                        seconds,
                        os.cpu_count() or 1,
                    )
                ),
            )
            self.records.append(record)

    def since(self, start: int) -> list[dict[str, Any]]:
        """Records made after the first ``start`` ones."""
        return self.records[start:]


LOG = LoadLog()


def is_busy(record: dict[str, Any], cores: int) -> bool:
    """Whether other work competed with a measurement (see the module's definition)."""
    if record.get("other_cpu_share") is not None:
        return record["other_cpu_share"] > BUSY_OTHER_SHARE
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
        "other_max": max(
            (r["other_cpu_share"] for r in records if r.get("other_cpu_share") is not None),
            default=None,
        ),
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
                "other work (largest share of the cores)": (
                    f"{v['other_max']:.0%}" if v.get("other_max") is not None else "n/a"
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
