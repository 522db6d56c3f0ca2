"""Per-client latest-state slots: deltas when in step, a snapshot after missed frames."""

from __future__ import annotations

import asyncio

from airpicture.core.tracks import TrackTable
from airpicture.policy.egress import LOCAL
from airpicture.service.hub import ClientSlot, Hub
from airpicture.service.pipeline import Frame
from airpicture.service.stats import Metrics


def frame(seq: int) -> Frame:
    return Frame(seq, float(seq), TrackTable.empty(), {}, f"snap{seq}", f"delta{seq}")


def test_client_in_step_gets_deltas_slow_client_gets_latest_snapshot() -> None:
    async def main() -> list[str]:
        slot = ClientSlot(LOCAL)
        got = []
        slot.offer(frame(1))
        got.append(await slot.take())
        slot.offer(frame(2))
        got.append(await slot.take())
        for seq in (3, 4, 5):  # the client does not read: it misses 3 and 4
            slot.offer(frame(seq))
        got.append(await slot.take())
        slot.offer(frame(6))
        got.append(await slot.take())
        return got

    assert asyncio.run(main()) == ["snap1", "delta2", "snap5", "delta6"]


def test_publish_never_waits_for_a_stuck_client() -> None:
    async def main() -> tuple[str, int]:
        hub = Hub(asyncio.get_running_loop(), Metrics())
        stuck, live = ClientSlot(LOCAL), ClientSlot(LOCAL)
        hub.add(stuck, None)
        hub.add(live, None)
        got = ""
        for seq in range(1, 101):
            hub.publish({LOCAL: frame(seq)})
            await asyncio.sleep(0)
            got = await live.take()
        return got, len(hub.clients)

    got, n = asyncio.run(main())
    assert got == "delta100" and n == 2
