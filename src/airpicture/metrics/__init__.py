"""Scoring trackers against truth: GOSPA, RMS errors, identity changes, SIAP, reports."""
