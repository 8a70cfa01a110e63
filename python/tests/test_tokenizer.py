"""Byte-level BPE (sherry.llama.tokenizer): the pre-tokenizers against the
regular expressions they implement (run by Perl), merges, round trips."""

import os
import random
import shutil
import subprocess

import pytest

from sherry.llama import ModelError
from sherry.llama.tokenizer import (ByteLevelBPE, _BYTE_TO_CHAR,
                                    _split_gpt2, _split_llama3)

ORACLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                      "bpe_split.pl")
ALPHABET = (list("aZé ß'sStTrReEvVmMlLdD\n\r\t 0123456789١٢!?.,-—…😀中文"
                 "\u00a0\u2028") + ["'s", "'LL", "  \n", " !"])


def random_texts(count, seed):
    rng = random.Random(seed)
    return [
        "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 30)))
        for _ in range(count)]


@pytest.mark.parametrize("which, split", [("llama3", _split_llama3),
                                          ("gpt2", _split_gpt2)])
def test_pre_tokenizer_matches_the_regex(which, split):
    perl = shutil.which("perl")
    assert perl, "perl (Debian's perl-base) runs the reference regex"
    texts = (["Hello world's 12345 !!\n\n  x", "I'M here", "a  \n\n b",
              "  ", "\n", "x\u00a0y", "😀😀 ok"] + random_texts(2000, 7))
    done = subprocess.run([perl, ORACLE, which],
                          input="\x1e".join(texts) + "\x1e",
                          capture_output=True, text=True, encoding="utf-8",
                          check=True)
    lines = done.stdout.splitlines()
    assert len(lines) == len(texts)
    for text, line in zip(texts, lines):
        want = [int(n) for n in line.split(",")]
        assert [len(p) for p in split(text)] == want, repr(text)
    assert list(_split_llama3("Hello world's 12345 !!\n\n  x")) == [
        "Hello", " world", "'s", " ", "123", "45", " !!\n\n", " ", " x"]


def tiny_bpe(pre="llama-bpe"):
    """The 256 byte tokens, then merged tokens, BOS and EOS."""
    tokens = [_BYTE_TO_CHAR[b] for b in range(256)]
    merges = ["Ġ t", "h e", "Ġt he", "l l", "e ll"]
    tokens += ["Ġt", "he", "Ġthe", "ll", "ell", "<|begin|>", "<|end|>"]
    return ByteLevelBPE(tokens, merges, pre, bos_id=len(tokens) - 2,
                        eos_id=len(tokens) - 1)


def test_merges_by_rank():
    bpe = tiny_bpe()
    ids = bpe.encode("the the hell", add_bos=False)
    words = [bpe.tokens[i] for i in ids]
    # "the": t h e -> "t he"; " the": Ġt he -> Ġthe; " hell": h e ll ->
    # "he" first (rank 1), then "ll" (rank 3); "e ll" never applies.
    assert words == ["t", "he", "Ġthe", "Ġ", "he", "ll"]
    assert bpe.encode("the")[0] == bpe.bos_id
    assert bpe.decode(bpe.encode("the the hell")) == "the the hell"


@pytest.mark.parametrize("pre", ["llama-bpe", "gpt2"])
def test_round_trip(pre):
    bpe = tiny_bpe(pre)
    for text in random_texts(300, 11) + ["", "\x00\x7f", "emoji 😀 and 中文"]:
        assert bpe.decode(bpe.encode(text)) == text


def test_from_gguf_metadata_and_errors():
    base = tiny_bpe()
    meta = {"tokenizer.ggml.model": "gpt2",
            "tokenizer.ggml.tokens": base.tokens,
            "tokenizer.ggml.merges": ["Ġ t", "h e"],
            "tokenizer.ggml.pre": "llama-bpe",
            "tokenizer.ggml.bos_token_id": base.bos_id,
            "tokenizer.ggml.eos_token_id": base.eos_id}
    bpe = ByteLevelBPE.from_gguf(meta)
    assert bpe.eos_id == base.eos_id
    assert bpe.decode([bpe.bos_id, 72, 105, bpe.eos_id]) == "Hi"
    with pytest.raises(ModelError, match="'llama' is not supported"):
        ByteLevelBPE.from_gguf(dict(meta, **{"tokenizer.ggml.model":
                                             "llama"}))
    with pytest.raises(ModelError, match="no tokenizer"):
        ByteLevelBPE.from_gguf({})
    with pytest.raises(ModelError, match="pre-tokenizer 'qwen2'"):
        ByteLevelBPE.from_gguf(dict(meta, **{"tokenizer.ggml.pre":
                                             "qwen2"}))
    with pytest.raises(ModelError, match="lacks byte token"):
        ByteLevelBPE(["a", "b"], [])
    with pytest.raises(ModelError, match="token id 999"):
        bpe.decode([999])


def test_train_learns_frequent_pairs_and_round_trips(tmp_path):
    texts = ["the cat sat on the mat.\n", "the theme of the thesis\n"] * 20 \
        + random_texts(50, 5)
    bpe = ByteLevelBPE.train(texts, 300)
    assert len(bpe.tokens) == 300
    assert bpe.tokens[-2:] == ["<|begin_of_text|>", "<|end_of_text|>"]
    assert (bpe.bos_id, bpe.eos_id) == (298, 299)
    # "Ġthe" is the most frequent word: merged, and one token.
    assert "Ġthe" in bpe.tokens
    assert [bpe.tokens[i] for i in bpe.encode(" the", add_bos=False)] == \
        ["Ġthe"]
    for text in texts + ["unseen words 😀\r\n"]:
        assert bpe.decode(bpe.encode(text)) == text
    # Deterministic, and the GGUF metadata reads back as the same
    # tokenizer (through a written file).
    assert ByteLevelBPE.train(texts, 300).tokens == bpe.tokens
    from sherry import gguf
    g = gguf.GgufFile()
    for key, (value, kind) in bpe.gguf_metadata().items():
        g.set_metadata(key, value, kind)
    g.save(str(tmp_path / "t.gguf"))
    back = ByteLevelBPE.from_gguf(gguf.load(str(tmp_path / "t.gguf")).metadata)
    assert back.tokens == bpe.tokens and back.ranks == bpe.ranks
    assert (back.bos_id, back.eos_id, back.pre) == (298, 299, "llama-bpe")
    for text in texts[:3]:
        assert back.encode(text) == bpe.encode(text)
    with pytest.raises(ValueError, match="no room for the 256 byte tokens"):
        ByteLevelBPE.train(texts, 200)
    with pytest.raises(ModelError, match="pre-tokenizer 'bert'"):
        ByteLevelBPE.train(texts, 300, pre="bert")
