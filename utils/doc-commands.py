#!/usr/bin/env python3
"""Prints the shell commands of a Markdown page's ```sh blocks, one per line
(doc_blocks.commands: continuation lines joined, comments dropped), keeping
those whose first word (or its file name, for a path) is one of TOOLS.

Usage: doc-commands.py PAGE.md TOOL [TOOL ...]
"""
import os
import re
import sys

from doc_blocks import commands as block_commands

# Tools may come as paths (lit substitutes them): compare their names.
page, tools = sys.argv[1], {os.path.basename(t) for t in sys.argv[2:]}
commands = []
for block in re.findall(r"```sh\n(.*?)```", open(page).read(), re.S):
    commands += [line for line in block_commands(block)
                 if os.path.basename(line.split()[0]) in tools]
if not commands:
    sys.exit(f"doc-commands: no commands of {sorted(tools)} in {page}")
print("\n".join(commands))
