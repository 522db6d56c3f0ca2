"""Policy changes without restart: reread the policy file (and its Cedar file and privacy
list) when one of them changes; a bad file is refused with its one-line message and the old
policy stays in force.  Call `check()` once per tick (a few stat calls)."""

from __future__ import annotations

from pathlib import Path

from airpicture.core.errors import UserError
from airpicture.policy.masks import LabelPolicy
from airpicture.policy.release import LoadedPolicy, load_policy


def watched_files(loaded: LoadedPolicy) -> list[Path]:
    """The files a loaded policy was read from."""
    files = [loaded.path]
    if loaded.file.cedar.file:
        files.append(loaded.path.parent / loaded.file.cedar.file)
    if loaded.privacy.path is not None:
        files.append(loaded.privacy.path)
    return files


def _stamps(files: list[Path]) -> tuple[int, ...]:
    out = []
    for f in files:
        try:
            out.append(f.stat().st_mtime_ns)
        except OSError:
            out.append(-1)
    return tuple(out)


class PolicyReloader:
    """Keeps `policy` (a LabelPolicy) on the newest valid version of its files."""

    def __init__(self, policy: LabelPolicy) -> None:
        self.policy = policy
        self.files = watched_files(policy.loaded)
        self.stamps = _stamps(self.files)
        self.reloads = 0
        self.refused = 0
        self.last_problem: str | None = None

    def check(self) -> bool:
        """Reload when a watched file changed; True when a new policy took effect.  A file
        that does not load is refused (`last_problem`, `refused`) and the old policy stays."""
        stamps = _stamps(self.files)
        if stamps == self.stamps:
            return False
        self.stamps = stamps
        try:
            loaded = load_policy(self.policy.loaded.path)
        except UserError as exc:
            self.refused += 1
            self.last_problem = str(exc)
            return False
        self.policy.loaded = loaded  # one assignment: every later call sees the new policy
        self.files = watched_files(loaded)
        self.stamps = _stamps(self.files)
        self.reloads += 1
        self.last_problem = None
        return True

    def problems(self) -> list[str]:
        """For the service's health checks: the refused file, while it stays refused."""
        if self.last_problem is None:
            return []
        return [f"release policy not reloaded, the previous one holds: {self.last_problem}"]
