"""Is the pipeline keeping up?  Stream time processed against wall time, tick durations, the
time since the last picture: what /api/health and /metrics report as falling behind / frozen.

Rules (docs/operations.md):
* falling behind: over the last WINDOW_S of wall time (judged once JUDGE_AFTER_S of it is
  seen), the processed stream time advanced at less than MIN_RATIO x the configured speed
  (for a clock-driven source; a live source's own clock stops when its feeds do, which the
  feed states report), or the last tick took longer than SLOW_TICK_PERIODS tick periods;
* frozen: no picture for max(FROZEN_PERIODS tick periods, FROZEN_MIN_S) of wall time.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

WINDOW_S = 30.0
JUDGE_AFTER_S = 5.0
MIN_RATIO = 0.9
SLOW_TICK_PERIODS = 2.0
FROZEN_PERIODS = 5.0
FROZEN_MIN_S = 3.0


class Pace:
    """Wall-clock record of the pipeline's ticks (monotonic seconds)."""

    def __init__(self, tick_s: float, speed: float) -> None:
        self.tick_s = tick_s
        self.speed = speed
        self.frozen_after_s = max(FROZEN_PERIODS * self.period_s, FROZEN_MIN_S)
        self.samples: deque[tuple[float, float]] = deque()  # (wall end, stream t) per tick
        self.started_at: float | None = None
        self.last_end: float | None = None
        self.last_tick_s = 0.0
        self.ticks_skipped = 0

    @property
    def period_s(self) -> float:
        """Wall seconds between two ticks at the configured speed."""
        return self.tick_s / self.speed

    def start(self, now: float | None = None) -> None:
        self.started_at = self.last_end = time.monotonic() if now is None else now

    def ticked(self, t_s: float, took_s: float, skipped: int = 0,
               now: float | None = None) -> None:
        """One tick ended at wall `now`, having processed up to stream time t_s."""
        now = time.monotonic() if now is None else now
        self.samples.append((now, t_s))
        while self.samples and self.samples[0][0] < now - WINDOW_S:
            self.samples.popleft()
        self.last_end = now
        self.last_tick_s = took_s
        self.ticks_skipped += skipped

    def stream_wall_ratio(self) -> float | None:
        """Stream seconds processed per wall second over the window (None: too few ticks)."""
        if len(self.samples) < 2:
            return None
        (w0, t0), (w1, t1) = self.samples[0], self.samples[-1]
        return (t1 - t0) / (w1 - w0) if w1 > w0 else None

    def ticks_per_s(self) -> float | None:
        if len(self.samples) < 2:
            return None
        span = self.samples[-1][0] - self.samples[0][0]
        return (len(self.samples) - 1) / span if span > 0 else None

    def since_tick_s(self, now: float | None = None) -> float | None:
        """Wall seconds since the last picture (or the start, before the first one)."""
        if self.last_end is None:
            return None
        return (time.monotonic() if now is None else now) - self.last_end

    def status(self, now: float | None = None) -> dict[str, Any]:
        """Figures for /api/health (rounded: for people)."""
        ratio, rate, since = self.stream_wall_ratio(), self.ticks_per_s(), self.since_tick_s(now)
        return {"speed": self.speed,
                "stream_wall_ratio": None if ratio is None else round(ratio, 3),
                "ticks_per_s": None if rate is None else round(rate, 3),
                "expected_ticks_per_s": round(1.0 / self.period_s, 3),
                "last_tick_s": round(self.last_tick_s, 4),
                "since_last_tick_s": None if since is None else round(since, 3),
                "ticks_skipped": self.ticks_skipped}

    def problems(self, own_clock: bool, now: float | None = None) -> list[str]:
        """Falling behind and frozen, by the rules in the module docstring."""
        if self.started_at is None:
            return []
        now = time.monotonic() if now is None else now
        out = []
        since = self.since_tick_s(now) or 0.0
        if since > self.frozen_after_s:
            out.append(f"picture frozen: no new picture for {since:.1f} s (one is due every "
                       f"{self.period_s:g} s)")
        ratio = self.stream_wall_ratio()
        seen_s = self.samples[-1][0] - self.samples[0][0] if self.samples else 0.0
        if (not own_clock and ratio is not None and seen_s >= JUDGE_AFTER_S
                and ratio < MIN_RATIO * self.speed):
            out.append(f"falling behind: {ratio:.2f} s of stream time per second over the last "
                       f"{seen_s:.0f} s, configured speed {self.speed:g}")
        elif self.last_tick_s > SLOW_TICK_PERIODS * self.period_s:
            out.append(f"falling behind: the last tick took {self.last_tick_s:.2f} s, more than "
                       f"{SLOW_TICK_PERIODS:g} tick periods ({self.period_s:g} s each)")
        return out
