#!/usr/bin/env python3
"""Checks that committed generated docs match freshly generated ones.

Usage: check-docs.py GENERATED COMMITTED [GENERATED COMMITTED ...]
"""
import difflib
import sys


def main(argv):
    pairs = list(zip(argv[1::2], argv[2::2]))
    stale = 0
    for generated, committed in pairs:
        try:
            with open(generated) as f:
                new = f.readlines()
            with open(committed) as f:
                old = f.readlines()
        except OSError as e:
            print(f"check-docs: {e}")
            stale += 1
            continue
        if new != old:
            stale += 1
            print(f"check-docs: {committed} is stale; run "
                  "`cmake --build build --target sherry-docs`")
            sys.stdout.writelines(
                list(difflib.unified_diff(old, new, committed, generated))[:40])
    print(f"check-docs: {len(pairs) - stale} up to date, {stale} stale")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
