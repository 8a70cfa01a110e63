"""Every python block of docs/python.md runs."""

import os
import re

import pytest

from conftest import ROOT

DOC = os.path.join(ROOT, "docs", "python.md")


def _blocks():
    with open(DOC) as f:
        text = f.read()
    return re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)


def test_doc_has_examples():
    assert len(_blocks()) >= 5


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_doc_example(index, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = _blocks()[index]
    if re.search(r"^\s*(import|from) torch", code, re.M):
        pytest.importorskip("torch")
    exec(compile(code, "%s, python block %d" % (DOC, index + 1), "exec"), {})
