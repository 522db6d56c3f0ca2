"""airpicture: fuse primary radar, Mode S, ADS-B and MLAT plots into one air picture."""

__version__ = "0.1.0"
