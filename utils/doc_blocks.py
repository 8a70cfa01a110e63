"""The shell commands of a Markdown page's blocks, as the doc tests read
them (utils/doc-commands.py, utils/doc-shell-blocks.py)."""
import re


def commands(block):
    """The commands of a shell block, one per line: lines continued with a
    trailing backslash or pipe, or by a line that starts with a pipe, are
    joined; comment lines and trailing comments are dropped."""
    text = re.sub(r"\\\n\s*", " ", block)
    text = re.sub(r"\|\n\s*", "| ", text)
    text = re.sub(r"\n\s*\|", " |", text)
    out = []
    for line in text.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out
