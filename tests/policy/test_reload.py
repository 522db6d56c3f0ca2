"""Policy hot reload: a changed file takes effect at the next check; a broken one is refused
with its message and the old policy holds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from airpicture.core.geo import LocalFrame
from airpicture.policy.egress import Consumer, Egress
from airpicture.policy.masks import LabelPolicy
from airpicture.policy.release import load_policy
from airpicture.policy.reload import PolicyReloader


def _touch(path: Path, n: int) -> None:
    os.utime(path, ns=(n * 10**9, n * 10**9))


def test_reload_applies_and_refuses(example_dir: Path, tmp_path: Path) -> None:
    for name in ("policy.toml", "privacy.txt"):
        shutil.copy(example_dir / name, tmp_path / name)
    policy_file = tmp_path / "policy.toml"
    _touch(policy_file, 1)
    policy = LabelPolicy(load_policy(policy_file), LocalFrame(48.95, 2.45), (1, 2, 3, 4))
    egress = Egress(policy)
    reloader = PolicyReloader(policy)
    assert not reloader.check()
    assert egress.sensors([1, 2, 3, 4], Consumer("bravo-liaison")) == [1]
    # bravo-liaison gets the MIL category: radar 2 is released to it from the next check on
    text = policy_file.read_text().replace(
        '[consumers.bravo-liaison]   # BRAVO staff without the MIL category: ALPHA\'s radar '
        'only\norganisation = "BRAVO"\nclearance = { classification = "SECRET" }',
        '[consumers.bravo-liaison]\norganisation = "BRAVO"\n'
        'clearance = { classification = "SECRET", categories = ["MIL"] }')
    assert text != policy_file.read_text()
    policy_file.write_text(text)
    _touch(policy_file, 2)
    assert reloader.check() and reloader.reloads == 1
    assert egress.sensors([1, 2, 3, 4], Consumer("bravo-liaison")) == [1, 2]
    # a broken file is refused; the policy in force stays
    policy_file.write_text(text + "\n[consumers.x]\norganisation = 'NOBODY'\n")
    _touch(policy_file, 3)
    assert not reloader.check()
    assert reloader.refused == 1 and "unknown organisation 'NOBODY'" in reloader.problems()[0]
    assert egress.sensors([1, 2, 3, 4], Consumer("bravo-liaison")) == [1, 2]
    # the privacy list is watched too
    privacy = tmp_path / "privacy.txt"
    policy_file.write_text(text)
    _touch(policy_file, 4)
    assert reloader.check() and reloader.problems() == []
    privacy.write_text("abcdef\n")
    _touch(privacy, 5)
    assert reloader.check()
    listed = policy.loaded.privacy.listed(np.array([0xABCDEF]), np.array([""], object))
    assert listed.tolist() == [True]
