"""Dask clusters for sweeps: a local one, an existing scheduler, or SLURM, each checked first.

Everything a user gives is checked before anything starts, with one line naming what is
wrong: the worker count, the scheduler's address, the SLURM settings file (against
:data:`SLURM_SCHEMA`: allowed keys and types) and whether SLURM can take a job at all
(``sbatch`` on the ``PATH``, and ``sbatch --test-only`` accepting the job script). A
scheduler that cannot be reached, or a submission SLURM refuses, is a
:class:`~analysis.errors.ServiceError` (exit 69), not a bad input.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from analysis.configschema import load_config
from analysis.errors import CompendiumError, ServiceError

SCHEDULER_ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss)://[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")
CONNECT_SECONDS = 10
_TEXT = {"type": "string", "minLength": 1}
_TEXTS = {"type": "array", "items": _TEXT}
SLURM_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["queue", "cores", "memory", "walltime"],
    "properties": {
        "queue": _TEXT,
        "account": _TEXT,
        "cores": {"type": "integer", "minimum": 1, "maximum": 1024},
        "processes": {"type": "integer", "minimum": 1, "maximum": 1024},
        "memory": {"type": "string", "pattern": r"^\d+(\.\d+)?\s*[KMGTP]i?B$"},
        "walltime": {"type": "string", "pattern": r"^(\d+-)?\d{1,3}:\d{2}(:\d{2})?$"},
        "job_name": _TEXT,
        "job_cpu": {"type": "integer", "minimum": 1},
        "job_mem": {"type": "string", "pattern": r"^\d+(\.\d+)?\s*[KMGTP]i?B$"},
        "job_extra_directives": _TEXTS,
        "job_script_prologue": _TEXTS,
        "job_directives_skip": _TEXTS,
        "worker_extra_args": _TEXTS,
        "local_directory": _TEXT,
        "log_directory": _TEXT,
        "interface": _TEXT,
        "death_timeout": {"type": "number", "exclusiveMinimum": 0},
        "python": _TEXT,
        "shebang": _TEXT,
    },
}
"""The ``SLURMCluster`` settings a configuration file may give, with their types."""


class ClusterError(CompendiumError, ValueError):
    """A cluster option or settings file that cannot be used; the message names it."""


def check_workers(workers: Any, option: str = "--workers") -> int:
    """A worker count: a whole number of at least one (0 would wait for ever)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ClusterError(f"{option}: expected a whole number of at least 1, got {workers!r}")
    return workers


def check_scheduler(address: str) -> str:
    """A scheduler address such as ``tcp://host:8786``."""
    if not isinstance(address, str) or not SCHEDULER_ADDRESS.fullmatch(address.strip()):
        raise ClusterError(
            f"--scheduler: {address!r} is not a Dask scheduler address; expected "
            "PROTOCOL://HOST:PORT such as tcp://10.0.0.5:8786"
        )
    return address.strip()


def slurm_settings(config: str | Path) -> dict[str, Any]:
    """The SLURM settings file, checked against :data:`SLURM_SCHEMA`."""
    settings = dict(load_config(config, SLURM_SCHEMA))
    settings.setdefault("processes", settings["cores"])
    settings.setdefault("python", sys.executable)
    return settings


def _check_submission(cluster: Any) -> None:
    """Refuse, in one line, when SLURM cannot take the job: no ``sbatch``, or a job script
    ``sbatch --test-only`` rejects (an unknown queue or account, too long a walltime)."""
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise ServiceError(
            "--cluster slurm: sbatch is not on the PATH, so no job can be submitted; run on a "
            "SLURM login node, or use --cluster local"
        )
    try:
        done = subprocess.run(  # noqa: S603 - sbatch from the PATH, the script on stdin
            [sbatch, "--test-only"], input=cluster.job_script(), capture_output=True,
            text=True, timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ServiceError(f"--cluster slurm: sbatch --test-only did not answer ({err})") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ServiceError(f"--cluster slurm: SLURM refuses the job script: {last}")


def slurm_cluster(config: str | Path, *, jobs: int = 1) -> Any:
    """A ``dask_jobqueue.SLURMCluster`` from a YAML file of its settings, scaled to ``jobs``.

    The file holds the keyword arguments of ``SLURMCluster`` (``account``, ``queue``,
    ``cores``, ``memory``, ``walltime``, and optionally ``job_extra_directives``...);
    ``processes`` defaults to ``cores`` so each worker process has one thread. With ``jobs``,
    the job script is tested with ``sbatch --test-only`` before any is submitted.
    """
    from dask_jobqueue import SLURMCluster

    cluster = SLURMCluster(**slurm_settings(config))
    if jobs:
        try:
            _check_submission(cluster)
        except ServiceError:
            cluster.close()
            raise
        cluster.scale(jobs=jobs)
    return cluster


def connect(address: str) -> Any:
    """A client of the scheduler at ``address``; a ServiceError when it cannot be reached."""
    from dask.distributed import Client

    address = check_scheduler(address)
    try:
        return Client(address, timeout=f"{CONNECT_SECONDS}s")
    except (OSError, TimeoutError) as err:
        raise ServiceError(
            f"--scheduler {address}: no Dask scheduler answered within {CONNECT_SECONDS} s "
            f"({type(err).__name__}); start it, or check the address"
        ) from None


def make_client(
    *,
    scheduler: str | None = None,
    cluster: str = "local",
    config: str | None = None,
    workers: int = 2,
) -> Any:
    """A Dask client: an existing scheduler, a SLURM cluster, or a local one (default).

    The local cluster has ``workers`` processes of one thread each (papermill and kernels are
    not thread-safe) and no dashboard: its scheduler's HTTP endpoint listens on a free
    loopback port, so no "port 8787 is already in use" warning.
    """
    from dask.distributed import Client, LocalCluster

    check_workers(workers)
    if scheduler:
        return connect(scheduler)
    if cluster == "slurm":
        if not config:
            raise ClusterError(
                "--cluster slurm needs --config <file> with account, queue, cores, memory, walltime"
            )
        return Client(slurm_cluster(config, jobs=workers))
    if cluster != "local":
        raise ClusterError(f"--cluster: unknown value {cluster!r}; expected local or slurm")
    # Each nanny writes its workers' settings (one BLAS thread, memory trimming, a hash
    # seed) into this process's environment before spawning them, and every kernel the
    # runner starts afterwards would inherit them: a notebook's last digits would then
    # depend on whether a sweep had started first. The environment is put back.
    saved = dict(os.environ)
    try:
        local = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return Client(local)


def close_client(client: Any, *, own_cluster: bool = True) -> None:
    """Close a client of :func:`make_client` (None is ignored) and, unless the cluster is
    someone else's (``--scheduler``), the cluster it started."""
    if client is None:
        return
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None and own_cluster:
        cluster.close()
