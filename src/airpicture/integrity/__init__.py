"""Integrity: ADS-B spoofing and GNSS interference found by cross-checking sensors (to come)."""
