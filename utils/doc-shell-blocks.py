#!/usr/bin/env python3
"""Runs the shell blocks of the user docs as written, the way a reader
would: in a fresh directory that looks like the repository root (its
top-level entries linked in, and those of the build directory under
`build`), with a plain
PATH (/usr/local/bin:/usr/bin:/bin) and no PYTHONPATH. A page's blocks run
in order in one bash -e session, so what one block exports or writes the
next one sees.

An HTML comment on the line before a block's fence says how to treat it:

  <!-- doc-test: file NAME -->       the block (any language) is saved as
                                      NAME before the next shell block runs
  <!-- doc-test: run -->              a ```python block runs with python3
                                      in the session's directory, python/
                                      importable (docs/python.md, Setup)
  <!-- doc-test: covered-by PATH... --> the shell block is not run here:
                                      each of its commands occurs in one of
                                      the PATHs (tests that run it), checked
  <!-- doc-test: skip REASON -->      the shell block is not run (the
                                      reason is printed)

Every ```sh block is run, covered or skipped with a reason; the summary
says which. Exits 1 when a block fails or a directive does not hold.

Usage: doc-shell-blocks.py --root SRC --build BUILD [--page PAGE ...]
                           [--keep DIR] [--list]
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

from doc_blocks import commands

FENCE = re.compile(r"^```([a-z]*)\n(.*?)^```\n", re.S | re.M)
DIRECTIVE = re.compile(r"<!-- doc-test: (\S+)\s*(.*?)\s*-->\s*\n\Z")
SHELL = ("sh", "bash")
PLAIN_PATH = "/usr/local/bin:/usr/bin:/bin"
# What the docs' commands write under build/: not linked from the real
# build, so a test run leaves a user's files there alone.
WRITTEN_IN_BUILD = ("llama-train",)


def user_pages(root):
    """README.md, docs/*.md (not the generated reference or the design
    notes), bench/ and examples/ READMEs."""
    pages = ["README.md"] + sorted(
        os.path.relpath(p, root) for p in glob.glob(os.path.join(
            root, "docs", "*.md")))
    pages += sorted(os.path.relpath(p, root) for p in glob.glob(
        os.path.join(root, "*", "README.md")) + glob.glob(
            os.path.join(root, "examples", "*", "README.md")))
    return list(dict.fromkeys(pages))


def blocks(root, page):
    """(line, language, text, directive, argument) of each fenced block."""
    text = open(os.path.join(root, page)).read()
    found = []
    for match in FENCE.finditer(text):
        before = text[:match.start()]
        directive = DIRECTIVE.search(before)
        found.append((before.count("\n") + 1, match.group(1),
                      match.group(2),
                      directive.group(1) if directive else None,
                      directive.group(2) if directive else ""))
    return found


def scratch(root, build):
    """A fresh directory that looks like the repository root."""
    directory = tempfile.mkdtemp(prefix="doc-shell-")
    for entry in os.listdir(root):
        if entry in (".git", "build"):
            continue
        os.symlink(os.path.join(root, entry), os.path.join(directory, entry))
    # build/ holds the build's entries, linked, but what the docs' commands
    # write there (the trained model of examples/llama-train) stays here.
    os.mkdir(os.path.join(directory, "build"))
    for entry in os.listdir(build):
        if entry not in WRITTEN_IN_BUILD:
            os.symlink(os.path.join(build, entry),
                       os.path.join(directory, "build", entry))
    os.mkdir(os.path.join(directory, ".home"))
    return directory


def run_page(root, build, page, keep):
    """Checks and runs one page; returns (failures, summary lines)."""
    failures, summary, script = [], [], ["set -e"]
    ran = 0
    for line, language, text, directive, argument in blocks(root, page):
        where = "%s:%d" % (page, line)
        if directive == "file":
            script.append("cat > %s <<'DOC_BLOCK_EOF'\n%sDOC_BLOCK_EOF"
                          % (file_name(argument), text))
            continue
        if directive == "run":
            if language != "python":
                failures.append("%s: `run` is for python blocks" % where)
                continue
            script.append("echo '@@ %s'" % where)
            script.append("PYTHONPATH=$PWD/python python3 - <<'DOC_BLOCK_EOF'"
                          "\n%sDOC_BLOCK_EOF" % text)
            ran += 1
            continue
        if language not in SHELL:
            if directive is not None:
                failures.append("%s: doc-test %s on a %s block"
                                % (where, directive, language or "plain"))
            continue
        if directive == "skip":
            if not argument:
                failures.append("%s: skip needs a reason" % where)
            summary.append("  skipped %s: %s" % (where, argument))
            continue
        if directive == "covered-by":
            paths = argument.split()
            texts = []
            for path in paths:
                full = os.path.join(root, path)
                if not os.path.isfile(full):
                    failures.append("%s: covered-by %s: no such file"
                                    % (where, path))
                    continue
                texts.append(open(full).read())
            for command in commands(text):
                if not any(command in t for t in texts):
                    failures.append("%s: `%s` occurs in none of %s"
                                    % (where, command, ", ".join(paths)))
            summary.append("  covered %s by %s" % (where, ", ".join(paths)))
            continue
        if directive is not None:
            failures.append("%s: unknown doc-test directive %r"
                            % (where, directive))
            continue
        script.append("echo '@@ %s'" % where)
        script.append(text)
        ran += 1
    if ran == 0:
        return failures, summary + ["  ran no block"]
    directory = scratch(root, build)
    env = {"PATH": PLAIN_PATH, "HOME": os.path.join(directory, ".home"),
           "LANG": "C.UTF-8", "TMPDIR": directory}
    if keep:
        with open(os.path.join(keep, page.replace("/", "_") + ".sh"),
                  "w") as f:
            f.write("\n".join(script) + "\n")
    result = subprocess.run(["bash", "-c", "\n".join(script)],
                            cwd=directory, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        last = [l for l in result.stdout.splitlines() if l.startswith("@@ ")]
        tail = "\n".join(result.stdout.splitlines()[-30:])
        failures.append("%s: exit %d%s\n%s" % (
            last[-1][3:] if last else page, result.returncode,
            "" if last else " (before its first block)", tail))
    summary.insert(0, "  ran %d block(s)" % ran)
    shutil.rmtree(directory, ignore_errors=True)
    return failures, summary


def file_name(name):
    """`name` as a shell word: plain file names only."""
    if not re.fullmatch(r"[\w.-]+(/[\w.-]+)*", name):
        raise SystemExit("doc-shell-blocks: bad file name %r" % name)
    return name


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, help="the source tree")
    ap.add_argument("--build", required=True, help="the build directory")
    ap.add_argument("--page", action="append",
                    help="a page (relative to --root); default every user "
                    "page")
    ap.add_argument("--keep", metavar="DIR",
                    help="write each page's script to DIR")
    ap.add_argument("--list", action="store_true",
                    help="print the shell blocks and what happens to each")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    build = os.path.abspath(args.build)
    pages = args.page or user_pages(root)
    if args.list:
        for page in pages:
            for line, language, _, directive, argument in blocks(root, page):
                if language in SHELL or directive:
                    print("%s:%d %s %s %s" % (page, line, language,
                                              directive or "run", argument))
        return 0
    failed = False
    for page in pages:
        failures, summary = run_page(root, build, page, args.keep)
        print("%s%s" % (page, ": FAILED" if failures else ""))
        print("\n".join(summary))
        for failure in failures:
            print("error: " + failure)
        failed |= bool(failures)
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
