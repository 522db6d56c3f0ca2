"""Fault-injection harness: a real `airpicture serve` subprocess from a config text.

`serve(config_text, *extra_args)` writes the config, starts `python -m airpicture serve
--config FILE --host 127.0.0.1 --port PORT` in its own process group, waits (bounded) until
`/api/health` answers and returns a `ServeProcess`: `.url`, `.get(path)` (parsed JSON),
`.text(path)`, `.metric(name, **labels)`, `.pid`, `.stop(sig) -> seconds taken`,
`.output()` (stdout and stderr so far).  Every process is killed (its whole group) at teardown.
`free_port()` gives more ports for feeds the config listens on or connects to.
`file_size_limit_bytes` sets RLIMIT_FSIZE in the child: a full disk without root (writes past
it fail with EFBIG; the service must ignore SIGXFSZ itself, so the harness does not).
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/faults carries the `faults` marker (`-m faults` selects them)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """A running `airpicture serve` subprocess and a small HTTP client for it."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, config_path: Path) -> None:
        self.proc = proc
        self.url = url
        self.config_path = config_path
        self._out: list[bytes] = []
        self._lock = threading.Lock()
        self._readers = [threading.Thread(target=self._drain, args=(stream,), daemon=True)
                         for stream in (proc.stdout, proc.stderr) if stream is not None]
        for t in self._readers:
            t.start()

    def _drain(self, stream: Any) -> None:
        """Read a pipe to its end (pipes, not files: RLIMIT_FSIZE does not apply to them)."""
        for line in iter(stream.readline, b""):
            with self._lock:
                self._out.append(line)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        """Everything the service wrote to stdout and stderr so far."""
        with self._lock:
            return b"".join(self._out).decode(errors="replace")

    def get(self, path: str, timeout_s: float = 10.0, **params: Any) -> Any:
        """GET url+path and return the parsed JSON (raises on an HTTP error)."""
        r = httpx.get(self.url + path.lstrip("/"), params=params, timeout=timeout_s)
        r.raise_for_status()
        return r.json()

    def text(self, path: str, timeout_s: float = 10.0) -> str:
        r = httpx.get(self.url + path.lstrip("/"), timeout=timeout_s)
        r.raise_for_status()
        return r.text

    def metric(self, name: str, **labels: str) -> float | None:
        """One sample of /metrics (Prometheus text), or None when absent."""
        want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)"
        m = re.search(r"^" + pattern + r"$", self.text("/metrics"), re.MULTILINE)
        return float(m.group(1)) if m else None

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float,
                 every_s: float = 0.1) -> float:
        """Poll until predicate() holds; seconds waited, or AssertionError at timeout_s."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            with contextlib.suppress(httpx.HTTPError):
                if predicate():
                    return time.monotonic() - started
            if not self.alive():
                raise AssertionError(f"service exited ({self.proc.returncode}):\n"
                                     f"{self.output()}")
            time.sleep(every_s)
        raise AssertionError(f"condition not met within {timeout_s} s:\n{self.output()[-4000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> float:
        """Send `sig` to the service and wait for it to exit: seconds taken, or inf (then the
        group is killed) when it did not stop within timeout_s."""
        started = time.monotonic()
        if self.alive():
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return float("inf")
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL the whole process group (the service and anything it started)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


def start_serve(config_text: str, workdir: Path, *extra_args: str,
                file_size_limit_bytes: int | None = None,
                env: dict[str, str] | None = None) -> ServeProcess:
    """Start a service from `config_text` (TOML) on a free port; returns once it answers."""
    config_path = workdir / f"serve-{time.monotonic_ns()}.toml"
    config_path.write_text(config_text)
    port = free_port()
    args = [sys.executable, "-m", "airpicture", "serve", "--config", str(config_path),
            "--host", "127.0.0.1", "--port", str(port), *extra_args]

    def limits() -> None:
        if file_size_limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE,
                               (file_size_limit_bytes, file_size_limit_bytes))

    proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=limits if file_size_limit_bytes is not None else None,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    service = ServeProcess(proc, f"http://127.0.0.1:{port}/", config_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not service.alive():
            raise AssertionError(f"airpicture serve exited ({proc.returncode}) at start:\n"
                                 f"{service.output()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(service.url + "api/health", timeout=2.0).status_code == 200:
                return service
        time.sleep(0.1)
    service.kill()
    raise AssertionError(f"airpicture serve did not answer within {START_TIMEOUT_S} s:\n"
                         f"{service.output()}")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Factory of running services: `serve(config_text, *extra_args,
    file_size_limit_bytes=None, env=None)`; all are killed at teardown."""
    started: list[ServeProcess] = []

    def factory(config_text: str, *extra_args: str, **kwargs: Any) -> ServeProcess:
        service = start_serve(config_text, tmp_path, *extra_args, **kwargs)
        started.append(service)
        return service

    yield factory
    for service in started:
        service.kill()


@pytest.fixture
def small_scenario_dir(tmp_path: Path) -> Path:
    """The service tests' small scenario (3 aircraft, radar + ADS-B, 60 s) as a folder, for
    `[input] kind = "scenario"` (it loops: stream time keeps increasing)."""
    from airpicture.io.scenario import write_scenario
    from tests.service.conftest import small_meta, small_plots

    meta = small_meta()
    plots = small_plots(meta.duration_s)
    truth = pa.table({"t": [0.0], "target_id": [1], "x": [0.0], "y": [0.0], "vx": [0.0],
                      "vy": [0.0]})
    return write_scenario(tmp_path / "small", meta, truth, plots, np.full(len(plots), -1))
