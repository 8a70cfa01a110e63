"""Byte-level BPE, the tokenizer of LLaMA 3 (and GPT-2), from a GGUF file's
tokenizer.ggml.* metadata: text to token ids and back.

The pre-tokenizer splits text as the regular expressions of llama.cpp's
`llama-bpe` (LLaMA 3) and `gpt2`/`default` pre-tokenizers do; Python's `re`
has no \\p{L} / \\p{N}, so the splitting is written out with Unicode
categories. Each piece's UTF-8 bytes are mapped to printable characters
(GPT-2's byte-to-unicode table) and merged by the ranks of
tokenizer.ggml.merges.
"""

import collections
import heapq
import unicodedata

from .config import ModelError


def _byte_table():
    """GPT-2's bytes_to_unicode: every byte to a printable character."""
    keep = (list(range(ord("!"), ord("~") + 1))
            + list(range(ord("\u00a1"), ord("\u00ac") + 1))
            + list(range(ord("\u00ae"), ord("\u00ff") + 1)))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


_BYTE_TO_CHAR = _byte_table()
_CHAR_TO_BYTE = {c: b for b, c in _BYTE_TO_CHAR.items()}


def _letter(c):
    return unicodedata.category(c).startswith("L")


def _number(c):
    return unicodedata.category(c).startswith("N")


def _space(c):
    return c.isspace()


def _contraction(text, i, ignore_case):
    if text[i] != "'":
        return 0
    for suffix in ("s", "t", "re", "ve", "m", "ll", "d"):
        piece = text[i + 1:i + 1 + len(suffix)]
        if (piece.lower() if ignore_case else piece) == suffix:
            return 1 + len(suffix)
    return 0


def _run(text, i, pred):
    j = i
    while j < len(text) and pred(text[j]):
        j += 1
    return j


def _spaces(text, i):
    """\\s+(?!\\S) then \\s+ at i (both patterns end so): the end."""
    j = _run(text, i, _space)
    if j == i:
        return i
    if j == len(text) or j - i == 1:
        return j
    return j - 1        # leave the last space to the next word


def _split_llama3(text):
    n, i = len(text), 0
    while i < n:
        c = text[i]
        end = i + _contraction(text, i, True)
        if end == i:
            # [^\r\n\p{L}\p{N}]?\p{L}+
            if _letter(c):
                end = _run(text, i, _letter)
            elif (c not in "\r\n" and not _number(c) and i + 1 < n
                  and _letter(text[i + 1])):
                end = _run(text, i + 1, _letter)
        if end == i and _number(c):                      # \p{N}{1,3}
            end = min(_run(text, i, _number), i + 3)
        if end == i:
            # ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            j = i + 1 if c == " " else i
            other = lambda ch: not (_space(ch) or _letter(ch)  # noqa: E731
                                    or _number(ch))
            k = _run(text, j, other)
            if k > j:
                end = _run(text, k, lambda ch: ch in "\r\n")
        if end == i:
            # \s*[\r\n]+ : up to the last newline of the space run
            j = _run(text, i, _space)
            last = max(text.rfind("\r", i, j), text.rfind("\n", i, j))
            if last >= i:
                end = last + 1
        if end == i:
            end = _spaces(text, i)
        if end == i:            # cannot happen: every char is one of them
            end = i + 1
        yield text[i:end]
        i = end


def _split_gpt2(text):
    n, i = len(text), 0
    while i < n:
        end = i + _contraction(text, i, False)
        if end == i:
            j = i + 1 if text[i] == " " and i + 1 < n else i
            for pred in (_letter, _number,
                         lambda ch: not (_space(ch) or _letter(ch)
                                         or _number(ch))):
                k = _run(text, j, pred)
                if k > j:
                    end = k
                    break
        if end == i:
            end = _spaces(text, i)
        if end == i:
            end = i + 1
        yield text[i:end]
        i = end


_PRE_TOKENIZERS = {"llama-bpe": _split_llama3, "llama3": _split_llama3,
                   "gpt2": _split_gpt2, "default": _split_gpt2}


class ByteLevelBPE:
    """tokens: the vocabulary (strings of byte-table characters), merges:
    "a b" pairs, best first; pre: the pre-tokenizer ('llama-bpe', 'gpt2',
    'default'); bos_id / eos_id as the GGUF names them (or None)."""

    def __init__(self, tokens, merges, pre="llama-bpe", bos_id=None,
                 eos_id=None):
        if pre not in _PRE_TOKENIZERS:
            raise ModelError("pre-tokenizer %r is not supported (%s)"
                             % (pre, ", ".join(sorted(_PRE_TOKENIZERS))))
        self.tokens = list(tokens)
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.ranks = {}
        for rank, merge in enumerate(merges):
            parts = merge.split(" ")
            if len(parts) != 2:
                raise ModelError("merge %d (%r) is not two tokens" % (rank,
                                                                     merge))
            self.ranks.setdefault(tuple(parts), rank)
        missing = [b for b, ch in _BYTE_TO_CHAR.items() if ch not in self.ids]
        if missing:
            raise ModelError("the vocabulary lacks byte token(s) %s: not a "
                             "byte-level BPE vocabulary"
                             % ", ".join("%#04x" % b for b in missing[:4]))
        self.pre = pre
        self._split = _PRE_TOKENIZERS[pre]
        self.bos_id, self.eos_id = bos_id, eos_id
        self._cache = {}

    @classmethod
    def from_gguf(cls, metadata):
        """From GGUF metadata: tokenizer.ggml.model 'gpt2' (llama.cpp's name
        for byte-level BPE), .tokens, .merges, .pre, .bos_token_id,
        .eos_token_id."""
        model = metadata.get("tokenizer.ggml.model")
        if model is None:
            raise ModelError("the file has no tokenizer (tokenizer.ggml.model)")
        if model != "gpt2":
            raise ModelError("tokenizer.ggml.model %r is not supported (only "
                             "byte-level BPE, 'gpt2', as LLaMA 3 uses)"
                             % (model,))
        for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges"):
            if key not in metadata:
                raise ModelError("the tokenizer lacks %s" % key)
        return cls(metadata["tokenizer.ggml.tokens"],
                   metadata["tokenizer.ggml.merges"],
                   metadata.get("tokenizer.ggml.pre", "default"),
                   metadata.get("tokenizer.ggml.bos_token_id"),
                   metadata.get("tokenizer.ggml.eos_token_id"))

    @classmethod
    def train(cls, texts, vocab_size, pre="llama-bpe",
              specials=("<|begin_of_text|>", "<|end_of_text|>")):
        """Learns a byte-level BPE vocabulary of `vocab_size` tokens from
        `texts` (strings): the 256 byte tokens, then merges of the most
        frequent adjacent pair inside the pre-tokenizer's pieces (ties: the
        smaller pair) until the vocabulary is full, then `specials`. The
        first special is BOS and the last EOS. Deterministic."""
        if pre not in _PRE_TOKENIZERS:
            raise ModelError("pre-tokenizer %r is not supported (%s)"
                             % (pre, ", ".join(sorted(_PRE_TOKENIZERS))))
        specials = list(specials)
        merges_wanted = vocab_size - 256 - len(specials)
        if merges_wanted < 0:
            raise ValueError("vocab_size %d leaves no room for the 256 byte "
                             "tokens and %d special tokens"
                             % (vocab_size, len(specials)))
        counts = collections.Counter()
        for text in texts:
            counts.update(_PRE_TOKENIZERS[pre](text))
        words = [[_BYTE_TO_CHAR[b] for b in piece.encode("utf-8")]
                 for piece in counts]
        freq = list(counts.values())
        pairs = collections.Counter()
        where = collections.defaultdict(set)
        for i, w in enumerate(words):
            for pair in zip(w, w[1:]):
                pairs[pair] += freq[i]
                where[pair].add(i)
        heap = [(-n, pair) for pair, n in pairs.items()]
        heapq.heapify(heap)
        tokens = [_BYTE_TO_CHAR[b] for b in range(256)]
        known = set(tokens)
        merges = []
        while len(merges) < merges_wanted and heap:
            n, pair = heapq.heappop(heap)
            if pairs.get(pair, 0) != -n or n == 0:
                continue            # a stale entry
            merged = pair[0] + pair[1]
            merges.append(pair[0] + " " + pair[1])
            if merged not in known:
                known.add(merged)
                tokens.append(merged)
            changed = set()
            for i in sorted(where.pop(pair)):
                w, f = words[i], freq[i]
                for old in zip(w, w[1:]):
                    pairs[old] -= f
                    changed.add(old)
                out, j = [], 0
                while j < len(w):
                    if j + 1 < len(w) and (w[j], w[j + 1]) == pair:
                        out.append(merged)
                        j += 2
                    else:
                        out.append(w[j])
                        j += 1
                words[i] = out
                for new in zip(out, out[1:]):
                    pairs[new] += f
                    where[new].add(i)
                    changed.add(new)
            pairs.pop(pair, None)
            for p in changed:
                if pairs.get(p, 0) > 0:
                    heapq.heappush(heap, (-pairs[p], p))
        bos = len(tokens)
        tokens += specials
        return cls(tokens, merges, pre,
                   bos if specials else None,
                   len(tokens) - 1 if specials else None)

    def gguf_metadata(self):
        """The tokenizer.ggml.* metadata ({key: (value, type)}) that
        from_gguf reads back and llama.cpp loads."""
        special = {self.bos_id, self.eos_id}
        meta = {"tokenizer.ggml.model": ("gpt2", "string"),
                "tokenizer.ggml.pre": (self.pre, "string"),
                "tokenizer.ggml.tokens": (self.tokens, "array[string]"),
                "tokenizer.ggml.token_type": (
                    [3 if i in special else 1
                     for i in range(len(self.tokens))], "array[i32]"),
                "tokenizer.ggml.merges": (
                    [a + " " + b for (a, b), _ in sorted(
                        self.ranks.items(), key=lambda item: item[1])],
                    "array[string]")}
        for key, value in (("bos_token_id", self.bos_id),
                           ("eos_token_id", self.eos_id)):
            if value is not None:
                meta["tokenizer.ggml." + key] = (value, "u32")
        return meta

    def _word(self, piece):
        """The ids of one pre-token."""
        if piece in self._cache:
            return self._cache[piece]
        chars = "".join(_BYTE_TO_CHAR[b] for b in piece.encode("utf-8"))
        if chars in self.ids:
            out = [self.ids[chars]]
        else:
            parts = list(chars)
            while len(parts) > 1:
                best = min(range(len(parts) - 1), key=lambda k: self.ranks.get(
                    (parts[k], parts[k + 1]), float("inf")))
                pair = (parts[best], parts[best + 1])
                if pair not in self.ranks:
                    break
                parts[best:best + 2] = [pair[0] + pair[1]]
            out = []
            for p in parts:
                if p in self.ids:
                    out.append(self.ids[p])
                else:       # a merge whose result is not a token: its bytes
                    out.extend(self.ids[ch] for ch in p)
        self._cache[piece] = out
        return out

    def encode(self, text, add_bos=True):
        """Token ids of `text` (with the BOS id first where there is one
        and add_bos)."""
        ids = [self.bos_id] if add_bos and self.bos_id is not None else []
        for piece in self._split(text):
            ids.extend(self._word(piece))
        return ids

    def decode(self, ids, skip_special=True):
        """The text of token ids (BOS/EOS left out with skip_special;
        invalid UTF-8 shown as U+FFFD)."""
        data = bytearray()
        for i in ids:
            if not 0 <= i < len(self.tokens):
                raise ModelError("token id %d is outside the vocabulary of "
                                 "%d" % (i, len(self.tokens)))
            if skip_special and i in (self.bos_id, self.eos_id):
                continue
            token = self.tokens[i]
            if all(ch in _CHAR_TO_BYTE for ch in token):
                data.extend(_CHAR_TO_BYTE[ch] for ch in token)
            else:               # a special token written as text
                data.extend(token.encode("utf-8"))
        return data.decode("utf-8", errors="replace")
