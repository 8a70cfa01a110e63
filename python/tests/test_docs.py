"""Every python block of docs/python.md and docs/models.md runs, and so do
the `python3 -m sherry...` commands of their sh blocks (after the page's
python blocks, in the same directory)."""

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

PAGES = ["python.md", "models.md"]


def _read(page):
    with open(os.path.join(ROOT, "docs", page)) as f:
        return f.read()


def _blocks(page):
    return re.findall(r"^```python\n(.*?)^```", _read(page), re.S | re.M)


def _commands(page):
    out = []
    for block in re.findall(r"^```sh\n(.*?)^```", _read(page), re.S | re.M):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            if line.startswith("python3 -m sherry"):
                out.append(line)
    return out


def _run_blocks(page, upto):
    for index, code in enumerate(_blocks(page)[:upto]):
        if re.search(r"^\s*(import|from) torch", code, re.M):
            pytest.importorskip("torch")
        exec(compile(code, "docs/%s, python block %d" % (page, index + 1),
                     "exec"), {})


def test_doc_has_examples():
    assert len(_blocks("python.md")) >= 5
    assert len(_blocks("models.md")) >= 2
    assert len(_commands("models.md")) >= 2


@pytest.mark.parametrize("page, index", [
    (page, i) for page in PAGES for i in range(len(_blocks(page)))])
def test_doc_example(page, index, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    # Earlier blocks may make what this one reads (models.md's checkpoint).
    if page == "models.md":
        _run_blocks(page, index)
    code = _blocks(page)[index]
    if re.search(r"^\s*(import|from) torch", code, re.M):
        pytest.importorskip("torch")
    exec(compile(code, "docs/%s, python block %d" % (page, index + 1),
                 "exec"), {})


def test_models_doc_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _run_blocks("models.md", len(_blocks("models.md")))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.join(ROOT, "python")] +
        ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    for command in _commands("models.md"):
        if "build/llama-train/" in command and not os.path.exists(
                os.path.join(str(tmp_path), "build", "llama-train")):
            # The trained model the page describes, in the example's fast
            # mode (the full run takes minutes).
            pytest.importorskip("torch")
            done = subprocess.run(
                [sys.executable, os.path.join(ROOT, "examples", "llama-train",
                                              "train_fortunes.py"),
                 "--fast", "--out", "build/llama-train"], env=env,
                cwd=str(tmp_path), capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
        line = command.replace("python3", sys.executable, 1)
        done = subprocess.run(line, shell=True, env=env, cwd=str(tmp_path),
                              capture_output=True, text=True)
        assert done.returncode == 0, command + "\n" + done.stderr
        assert ("wrote" if ".convert" in command else "decode") in \
            done.stdout, command
