"""Sections of docs/performance.md that a script other than report.py
writes: each between `<!-- NAME: ... -->` and `<!-- NAME: end -->`, which
report.py keeps when it rewrites the page."""
import os
import re


def markers(name, writer):
    """The begin and end markers of section `name`, written by `writer`."""
    return (f"<!-- {name}: {writer} writes this section -->",
            f"<!-- {name}: end -->")


def replace_section(md_path, begin, end, block):
    """Puts `block` (which starts with `begin` and ends with `end`) in place
    of the page's section, or at its end where it has none."""
    text = open(md_path).read() if os.path.exists(md_path) else \
        "# Performance\n"
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end),
                      lambda m: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(md_path, "w") as f:
        f.write(text)
