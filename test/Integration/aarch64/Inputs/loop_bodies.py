#!/usr/bin/env python3
"""Counts instructions inside the loops of an AArch64 assembly listing.

A loop is a label and the instructions up to the last branch back to it
(a branch to a label seen earlier). For each loop, prints
`loop LABEL: N instructions, MNEMONIC COUNT, ...` for the mnemonics named
on the command line. Reads the listing from stdin.

Usage: loop_bodies.py MNEMONIC... < file.s
"""
import re
import sys

names = sys.argv[1:]
lines = [l.split("//")[0].rstrip() for l in sys.stdin]
labels = {}
for i, line in enumerate(lines):
    m = re.match(r"^(\.?L?[\w.$]+):", line)
    if m:
        labels[m.group(1)] = i
        continue
    m = re.match(r"^\s+(b(?:\.\w+)?|cbn?z|tbn?z)\s+(?:.*,\s*)?(\S+)$", line)
    if m and m.group(2) in labels:
        body = [l.split()[0] for l in lines[labels[m.group(2)] + 1:i + 1]
                if l.strip() and not l.strip().endswith(":")
                and not l.strip().startswith(".")]
        counts = ", ".join(f"{n} {sum(1 for x in body if x == n)}"
                           for n in names)
        print(f"loop {m.group(2)}: {len(body)} instructions, {counts}")
