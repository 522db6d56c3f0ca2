"""Live and recorded inputs: Mode S / ADS-B feeds (Beast, AVR, SBS), turned into plots."""
