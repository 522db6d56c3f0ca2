"""CAT062 outputs under faults: a real `airpicture serve` with a broken and a working output."""

from __future__ import annotations

import signal
import socket
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from airpicture.io.asterix import cat062, cat065
from airpicture.io.asterix.blocks import split_blocks
from tests.faults.conftest import ServeProcess

UNUSABLE_MULTICAST = "udp://239.255.0.1:9000?iface=203.0.113.7"
"""A multicast group on an interface address this machine does not have: every send fails."""


@pytest.mark.slow
def test_failing_outputs_are_reported_and_the_others_keep_sending(
        serve: Callable[..., ServeProcess], small_scenario_dir: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.ast"
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(10.0)
    port = receiver.getsockname()[1]
    service = serve(
        f'[input]\nkind = "scenario"\nscenario = "{small_scenario_dir}"\nspeed = 10.0\n'
        f'[[output.cat062]]\nurl = "file://{tmp_path}/no/such/dir/bad.ast"\n'
        f'[[output.cat062]]\nurl = "{UNUSABLE_MULTICAST}"\n'
        f'[[output.cat062]]\nurl = "file://{good}"\n'
        f'[[output.cat062]]\nurl = "udp://127.0.0.1:{port}"\n')
    service.wait_for(lambda: all(o["records"] > 0 for o in service.get("/api/outputs")[
        "outputs"][2:]), timeout_s=30)
    outputs = service.get("/api/outputs")["outputs"]
    assert [o["state"] for o in outputs] == ["down", "down", "up", "up"]
    assert "No such file" in outputs[0]["last_error"] and outputs[1]["errors"] > 0
    health = service.get("/api/health")
    assert health["status"] == "degraded"
    assert sum("bad.ast" in p or "239.255.0.1" in p for p in health["problems"]) == 2
    assert service.metric("airpicture_output_up", output=UNUSABLE_MULTICAST) == 0.0
    assert service.metric("airpicture_output_up", output=f"file://{good}") == 1.0
    with receiver:
        assert receiver.recv(65536)[0] in (62, 63, 65)  # the UDP output delivers
    seq = service.get("/api/health")["seq"]
    service.wait_for(lambda: service.get("/api/health")["seq"] > seq + 3, timeout_s=20)
    assert service.stop(signal.SIGTERM) < 10
    data = good.read_bytes()
    counts: Counter[str] = Counter()
    blocks = split_blocks(data, counts)
    assert not counts and sum(len(b.raw) for b in blocks) == len(data)  # whole blocks only
    assert blocks[-1].category == 65  # the last cycle ended with its end of batch
    assert cat065.decode_block(blocks[-1])[-1]["000"] in (1, 2, 3)
    assert len(cat062.decode(blocks, Counter())) > 0
