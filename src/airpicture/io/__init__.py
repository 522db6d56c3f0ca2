"""File formats in and out: the scenario format, ASTERIX, readsb aircraft.json."""
