"""Run one measured program in its own process on one core, with a wall-clock limit.

Each tracker runs in a fresh child so that its peak memory (ru_maxrss of that child alone,
from os.wait4) is its own, and so that a runaway peer can be stopped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ONE_CORE_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "RAYON_NUM_THREADS": "1",
    "POLARS_MAX_THREADS": "1",
    "ARROW_NUM_THREADS": "1",
}
"""Thread-pool sizes pinned to 1 so that figures are one-core figures."""


@dataclass(frozen=True)
class ChildResult:
    """What a finished (or killed) child left: exit status, wall time, peak memory."""

    argv: list[str]
    returncode: int
    wall_s: float
    peak_rss_mb: float
    killed: bool
    stderr_tail: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.killed

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def one_core_prefix() -> list[str]:
    """`taskset -c CPU` for the last CPU this process may use, or nothing without taskset."""
    taskset = shutil.which("taskset")
    if taskset is None or not hasattr(os, "sched_getaffinity"):
        return []
    cpu = max(os.sched_getaffinity(0))
    return [taskset, "-c", str(cpu)]


LAUNCHER = """
import os, signal, sys
out, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.execvp(argv[0], argv)
signal.signal(signal.SIGTERM, lambda s, f: os.kill(pid, signal.SIGTERM))
_, status, ru = os.wait4(pid, 0)
with open(out, "w") as f:
    f.write(str(ru.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""
"""A small fresh process that forks the measured program and writes its ru_maxrss (KiB).

A child forked straight from this (possibly large) process would inherit our memory
high-water mark in ru_maxrss; forking from a fresh ~10 MB launcher measures the program alone.
"""


def run_child(argv: list[str], limit_s: float, log_path: Path | None = None,
              one_core: bool = True) -> ChildResult:
    """Run argv to completion or until limit_s, then SIGTERM (SIGKILL 5 s later).

    stdout and stderr go to log_path (or are discarded); the last lines of it come back.
    """
    env = dict(os.environ)
    if one_core:
        env.update(ONE_CORE_ENV)
    full = (one_core_prefix() if one_core else []) + list(argv)
    log = open(log_path, "wb") if log_path is not None else subprocess.DEVNULL  # noqa: SIM115
    with tempfile.TemporaryDirectory() as tmp:
        rss_path = Path(tmp) / "maxrss"
        start = time.perf_counter()
        try:
            proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", LAUNCHER, str(rss_path),
                                     *full], stdout=log, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
            returncode, killed = _wait(proc, limit_s)
        finally:
            if log_path is not None and not isinstance(log, int):
                log.close()
        wall_s = time.perf_counter() - start
        maxrss_kib = float(rss_path.read_text()) if rss_path.exists() else float("nan")
    tail = ""
    if log_path is not None and log_path.exists():
        tail = log_path.read_bytes()[-2000:].decode("utf-8", "replace")
    return ChildResult(argv=full, returncode=returncode, wall_s=wall_s,
                       peak_rss_mb=maxrss_kib / 1024.0, killed=killed, stderr_tail=tail)


def _wait(proc: subprocess.Popen[bytes], limit_s: float) -> tuple[int, bool]:
    """Wait for the launcher; past limit_s, SIGTERM its process group, SIGKILL 5 s later."""
    deadline = time.monotonic() + limit_s
    killed = False
    term_at: float | None = None
    while True:
        try:
            return proc.wait(timeout=0.05), killed
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if now > deadline and term_at is None:
            os.killpg(proc.pid, signal.SIGTERM)
            killed, term_at = True, now
        elif term_at is not None and now > term_at + 5.0:
            os.killpg(proc.pid, signal.SIGKILL)
