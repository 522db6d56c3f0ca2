"""Commands that join several parts (tracker, policy, io) and so sit above them all:
policy-aware commands such as `airpicture policy` and the gated `airpicture track`."""
