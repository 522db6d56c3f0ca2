"""Policy files and privacy lists come from outside: any content is either accepted or
refused with a one-line UserError, never another exception."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.core.errors import UserError
from airpicture.policy.model import validate_policy
from airpicture.policy.privacy import parse_privacy_text

KEYS = st.sampled_from(["policy", "organisations", "sensors", "consumers", "cedar", "privacy",
                        "A", "1", "organisation", "label", "clearance", "area", "type",
                        "coordinates", "classification", "categories", "releasable_to",
                        "roles", "classifications", "policies", "file", "x"])
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
                   st.text(max_size=8), st.sampled_from(["A", "SECRET", "Polygon", "1"]))
VALUES: st.SearchStrategy[Any] = st.recursive(
    LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                    st.dictionaries(KEYS, inner, max_size=4)), max_leaves=20)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_any_policy_data_is_accepted_or_one_line_user_error(data: dict[str, Any]) -> None:
    try:
        validate_policy(data, "fuzz.toml")
    except UserError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.toml")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_any_privacy_text_is_parsed_or_refused(text: str) -> None:
    try:
        addresses, callsigns = parse_privacy_text(text, "privacy.txt")
    except UserError as exc:
        assert "\n" not in str(exc) and "line" in str(exc)
        return
    assert all(0 <= a < 1 << 24 for a in addresses)
    assert all(1 <= len(c) <= 8 for c in callsigns)
