"""Vectorised multi-sensor multi-target tracker (IMM, gating, global assignment)."""
