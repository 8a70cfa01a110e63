#!/usr/bin/env python3
"""Parses `sherry-pack gguf-list --json` output with Python's json module
(so the output must be valid JSON) and prints selected entries."""
import json
import sys

with open(sys.argv[1]) as f:
    d = json.load(f)
assert d["metadata_count"] == len(d["metadata"])
assert d["tensor_count"] == len(d["tensors"])
assert d["tensor_bytes"] == sum(t["bytes"] for t in d["tensors"])
shown = ["general.name", "llama.block_count", "test.i8", "test.u64",
         "test.i64", "test.f64", "tokenizer.ggml.tokens",
         "tokenizer.ggml.scores", "test.nested", "test.big", "test.low"]
for entry in d["metadata"]:
    if entry["key"] not in shown:
        continue
    fields = [entry["key"], entry["type"]]
    if entry["type"] == "array":
        fields.append(entry["element_type"])
    fields.append(ascii(entry["value"]) if isinstance(entry["value"], list)
                  else str(entry["value"]))
    print(" ".join(fields))
for t in d["tensors"]:
    if t["type"] == "stq1_0":
        print("tensor", t["name"], t["type"], t["type_id"], t["dims"],
              t["bytes"])
        break
