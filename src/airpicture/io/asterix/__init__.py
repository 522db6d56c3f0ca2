"""ASTERIX in and out: CAT048, CAT034 and CAT021 to plots; CAT062 system tracks out.

Decoding is strict (a block that does not parse with its configured edition is rejected and
counted, never guessed); libasterix (MIT, generated from asterix-specs) is the reference, with
a fast byte-level path for CAT048. See docs/asterix.md.
"""
