"""No network at run time: any socket connection outside loopback fails, in every process.

The guard (tests/netguard/sitecustomize.py) is put on ``PYTHONPATH`` so that every Python
process inherits it: the CLI, each Jupyter kernel papermill starts, jupyter-book and
Sphinx. Positive controls prove it is active in each kind of process (an attempt is blocked
and logged); then the real pipeline and its book are run under it and nothing may have tried.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import guardedrun
import nbformat
import pytest
import yaml

NETGUARD = guardedrun.NETGUARD
TEST_NET = "192.0.2.1"  # RFC 5737 documentation address: never routed, even without the guard


def guarded(tmp_path: Path, **extra: str) -> tuple[dict[str, str], Path]:
    log = tmp_path / "netguard.log"
    env = {**os.environ, "PYTHONPATH": str(NETGUARD), "NETGUARD_LOG": str(log), **extra}
    return env, log


PROBE = textwrap.dedent(
    f"""
    import socket, urllib.request
    results = []
    def attempt(label, action):
        try:
            action()
            results.append(f"{{label}}: allowed")
        except OSError as err:
            results.append(f"{{label}}: {{'blocked' if 'netguard' in str(err) else err}}")
    attempt("tcp", lambda: socket.create_connection(("{TEST_NET}", 80), timeout=1))
    attempt("dns", lambda: socket.getaddrinfo("example.org", 443))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    attempt("udp", lambda: udp.sendto(b"x", ("{TEST_NET}", 53)))
    attempt("http", lambda: urllib.request.urlopen("http://example.org", timeout=1))
    server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen()
    attempt("loopback", lambda: socket.create_connection(server.getsockname(), timeout=1))
    attempt("localhost", lambda: socket.getaddrinfo("localhost", 80))
    print("\\n".join(results))
    """
)


def test_guard_blocks_outside_loopback_and_allows_loopback(tmp_path):
    env, log = guarded(tmp_path)
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    outcome = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert outcome == {
        "tcp": "blocked",
        "dns": "blocked",
        "udp": "blocked",
        "http": "blocked",
        "loopback": "allowed",
        "localhost": "allowed",
    }
    logged = log.read_text()
    assert f"connect ('{TEST_NET}', 80)" in logged and "getaddrinfo 'example.org'" in logged
    assert "127.0.0.1" not in logged


def test_guard_is_off_without_pythonpath(tmp_path):
    """The control of the control: without the guard the same probe is not blocked by it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    script = (
        "import os, sys; print('sitecustomize' in sys.modules, os.environ.get('NETGUARD_ACTIVE'))"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    guarded_result = subprocess.run(
        [sys.executable, "-c", script], env=guarded(tmp_path)[0], capture_output=True, text=True
    )
    assert result.stdout.split()[1] == "None"
    assert guarded_result.stdout.split() == ["True", "1"]


@pytest.mark.e2e
def test_guard_reaches_notebook_kernels(mini, tmp_path):
    """A notebook cell that tries the network fails with the guard's error, through the CLI."""
    path = mini / "notebooks" / "gamma.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].source = f"import socket\nsocket.create_connection(('{TEST_NET}', 80), timeout=1)"
    nbformat.write(nb, path)
    env, log = guarded(tmp_path, COMPENDIUM_ROOT=str(mini), COMPENDIUM_BUILD=str(mini / "build"))
    result = subprocess.run(
        [*guardedrun.CLI, "run", "gamma"], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1
    assert "notebook 'gamma' failed in cell [4]: NetworkBlocked: netguard" in result.stderr
    assert f"connect ('{TEST_NET}', 80)" in log.read_text()


@pytest.mark.e2e
def test_guard_reaches_jupyter_book(tmp_path):
    """Sphinx's intersphinx fetch inside jupyter-book is blocked and logged."""
    source = tmp_path / "book"
    source.mkdir()
    (source / "intro.md").write_text("# Probe\n\nA page.\n")
    (source / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": "intro"}))
    config = {
        "title": "Probe",
        "execute": {"execute_notebooks": "off"},
        "sphinx": {
            "extra_extensions": ["sphinx.ext.intersphinx"],
            "config": {"intersphinx_mapping": {"python": ["https://docs.python.org/3", None]}},
        },
    }
    (source / "_config.yml").write_text(yaml.safe_dump(config))
    env, log = guarded(tmp_path)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(source), "--path-output", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "docs.python.org" in log.read_text()


@pytest.mark.e2e
@pytest.mark.slow
def test_real_pipeline_and_book_use_no_network(tmp_path_factory):
    state = guardedrun.guarded_build(tmp_path_factory, "a", book=True)
    state.check("run")
    state.check("book")
    assert (state.build / "book" / "html" / "index.html").is_file()
    assert state.guard_log() == "", f"network use during the run:\n{state.guard_log()}"
