"""examples/llama-train/train_fortunes.py in its fast mode (a one-layer
model, a few dozen steps): the trained model survives the GGUF file and
the compiler, QAT beats post-training ternarization, and sampling works."""

import importlib.util
import math
import os

import pytest

torch = pytest.importorskip("torch")

from conftest import ROOT  # noqa: E402

EXAMPLE = os.path.join(ROOT, "examples", "llama-train", "train_fortunes.py")
FORTUNES = "/usr/share/games/fortunes"

if not os.path.isdir(FORTUNES):
    pytest.skip("no %s (Debian: fortunes-min, which utils/setup.sh "
                "installs); the example trains on it" % FORTUNES,
                allow_module_level=True)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("train_fortunes", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lines = []
    res = module.run(fast=True, out_dir=str(tmp_path_factory.mktemp("lt")),
                     out=lines.append)
    res["report"] = "\n".join(lines)
    res["module"] = module
    return res


def test_compiled_gguf_model_matches_torch(result):
    checks = result["checks"]
    assert checks["qat_compiled_within_tolerance"], checks
    assert checks["ptq_compiled_within_tolerance"], checks


def test_perplexities(result):
    ppl, vocab = result["perplexity"], result["config"]["vocab_size"]
    for value in ppl.values():
        assert math.isfinite(value)
    # Far below a uniform guess after a few dozen steps...
    assert ppl["dense"] < 0.5 * vocab
    # ... training goes on (the dense model's second half)...
    assert ppl["dense"] < ppl["dense_first"]
    # ... and ternarizing the trained dense model costs more than training
    # on the ternary values for as many steps.
    assert ppl["qat"] < ppl["ptq"]


def test_arenas_schedule_and_losses(result):
    lambdas = result["lambdas"]
    assert len(lambdas) == result["config"]["qat_steps"]
    assert lambdas[0] == 0.0 and max(lambdas) > 0.5 and lambdas[-1] == 0.0
    dense = result["losses"]["dense"]
    assert dense[-1] < dense[0]


def test_generation_and_sizes(result):
    gen = result["generated"]
    assert 1 <= len(gen["tokens"]) <= result["config"]["new_tokens"]
    assert isinstance(gen["text"], str)
    sizes = result["sizes"]
    assert os.path.getsize(result["paths"]["qat"]) == sizes["gguf_bytes"]
    # STQ1_0 projections (42 bytes per 256 weights) and f16 embeddings.
    assert sizes["gguf_bytes"] > sizes["projection_parameters"] * 42 // 256 \
        + 2 * sizes["other_parameters"] - 4096
    assert "held-out perplexity" in result["report"]
