"""Release policies: what each consumer may see. Every output path goes through `egress`."""
