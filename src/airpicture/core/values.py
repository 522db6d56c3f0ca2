"""Checks of the numbers a command is given (finite, in range), so that NaN, infinity or a
negative speed is one clear UserError, not a silent wrong run or a hang."""

from __future__ import annotations

import math

from airpicture.core.errors import UserError


def check_number(value: float, option: str, minimum: float | None = None,
                 maximum: float | None = None) -> float:
    """value if finite and within [minimum, maximum] (each bound optional); else UserError."""
    low = -math.inf if minimum is None else minimum
    high = math.inf if maximum is None else maximum
    if not (math.isfinite(value) and low <= value <= high):
        if minimum is not None and maximum is not None:
            wanted = f"a number in [{minimum:g}, {maximum:g}]"
        elif minimum is not None:
            wanted = f"a finite number >= {minimum:g}"
        elif maximum is not None:
            wanted = f"a finite number <= {maximum:g}"
        else:
            wanted = "a finite number"
        raise UserError(None, f"{option} must be {wanted}, got {value}")
    return value
