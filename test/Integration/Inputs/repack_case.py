#!/usr/bin/env python3
"""Writes a self-checking program for sherry.repack on weights that are not
constants.

@to_tables repacks its canonical argument into the tables layout at run
time (convert-sherry-to-linalg) and @from_tables back; @main repacks the
same constant bytes, which folds through the format library, calls both
functions on them and prints how many bytes (and, from stq1_0, block
scales) differ: none, to the bit.

Usage: repack_case.py OUT.mlir --layout L [--order O] [--block B] [--m M]
                      [--k K]
"""
import argparse

import numpy as np

from cases import count_fn, geometry, resources

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--layout", default="<sherry, row>")
p.add_argument("--order", default="lanes")
p.add_argument("--block", type=int, default=4)
p.add_argument("--m", type=int, default=40)
p.add_argument("--k", type=int, default=256)
p.add_argument("--seed", type=int, default=5)
a = p.parse_args()

m, k = a.m, a.k
stq = "stq1_0" in a.layout
row_bytes, scales_shape, stype = geometry(a.layout, m, k)
P = f"tensor<{m}x{row_bytes}xi8>"
W = f"tensor<{m}x{k}xf32>"
if stq:
    tables = (f"<tables, group = 256, scale_type = f16, grouping = stq1_0, "
              f"order = {a.order}, tile_block = {a.block}>")
else:
    inner = a.layout[1:-1]
    tables = f"<tables, {inner.split(', ', 1)[1]}, order = {a.order}, tile_block = {a.block}>"

# The tables layout's byte count, as the format library counts it.
tiles = (m + 31) // 32
nbytes = tiles * (k // 16) * 80
if a.order == "lanes":
    if stq:
        segment = 256
    elif "group" in a.layout:
        segment = int(a.layout.split("group = ")[1].split(",")[0].rstrip(">"))
    else:
        segment = k
    nbytes += tiles * (k // segment) * 32 * (1 if segment // 4 <= 255 else 2)
TB = f"tensor<{nbytes}xi8>"
BS = f"tensor<{m}x{k // 256}xf16>"
TB2 = f"tensor<1x{nbytes}xi8>"

rng = np.random.default_rng(a.seed)
w = rng.normal(0, 1, size=(m, k)).astype(np.float32)
L = f"layout{a.layout}"
_, wscales, wstype = geometry(a.layout, m, k)
S = f"tensor<{'x'.join(map(str, wscales))}x{wstype}>"

cmp_int = "%bad = arith.cmpi ne, %x, %y : i8"
cmp_half = "%bad = arith.cmpf une, %x, %y : f16"
if stq:
    to_sig, to_ret = f"({TB}, {BS})", f"%t, %s : {TB}, {BS}"
    to_body = (f"  %t, %s = sherry.repack %p from <stq1_0> to {tables}\n"
               f"         : {P} -> {TB}, {BS}\n")
    back_args, back_call = f"%t: {TB}, %s: {BS}", "(%rt#0, %rt#1)"
    back_body = (f"  %b = sherry.repack %t scales(%s : {BS}) from {tables} "
                 f"to <stq1_0>\n         : {TB} -> {P}\n")
    fold = (f"  %tf, %sf = sherry.repack %p from <stq1_0> to {tables}\n"
            f"         : {P} -> {TB}, {BS}\n")
    call_to = f"  %rt:2 = func.call @to_tables(%p) : ({P}) -> ({TB}, {BS})\n"
    back_type = f"({TB}, {BS})"
else:
    to_sig, to_ret = TB, f"%t : {TB}"
    to_body = (f"  %t = sherry.repack %p from {a.layout} to {tables}\n"
               f"         : {P} -> {TB}\n")
    back_args, back_call = f"%t: {TB}", "(%rt)"
    back_body = (f"  %b = sherry.repack %t from {tables} to {a.layout}\n"
                 f"         : {TB} -> {P}\n")
    fold = (f"  %tf = sherry.repack %p from {a.layout} to {tables}\n"
            f"         : {P} -> {TB}\n")
    call_to = f"  %rt = func.call @to_tables(%p) : ({P}) -> {TB}\n"
    back_type = f"({TB})"
rt0 = "%rt#0" if stq else "%rt"

program = f"""
func.func @to_tables(%p: {P}) -> {to_sig} {{
{to_body}  return {to_ret}
}}
func.func @from_tables({back_args}) -> {P} {{
{back_body}  return %b : {P}
}}
""" + count_fn("count_rows", P, "i8", cmp_int) + count_fn(
    "count_tables", TB2, "i8", cmp_int) + (count_fn(
        "count_scales", BS, "f16", cmp_half) if stq else "") + f"""
func.func @main() {{
  %wf = arith.constant dense_resource<weights> : {W}
  %tv, %sv = sherry.ternarize %wf {L} : {W} -> tensor<{m}x{k}xi8>, {S}
  %p = sherry.pack %tv{f" scales(%sv : {S})" if stq else ""} {L} : tensor<{m}x{k}xi8> -> {P}
{fold}{call_to}  %b = func.call @from_tables{back_call} : {back_type} -> {P}
  %t2 = tensor.expand_shape %tf [[0, 1]] output_shape [1, {nbytes}] : {TB} into {TB2}
  %r2 = tensor.expand_shape {rt0} [[0, 1]] output_shape [1, {nbytes}] : {TB} into {TB2}
  %bt = func.call @count_tables(%t2, %r2) : ({TB2}, {TB2}) -> i32
  %bb = func.call @count_rows(%p, %b) : ({P}, {P}) -> i32
  vector.print str "tables byte mismatches: "
  vector.print %bt : i32
  vector.print str "round trip byte mismatches: "
  vector.print %bb : i32
{f'''  %bs = func.call @count_scales(%sf, %rt#1) : ({BS}, {BS}) -> i32
  vector.print str "scale mismatches: "
  vector.print %bs : i32
''' if stq else ''}  return
}}
"""
with open(a.out, "w") as f:
    f.write(program + resources({"weights": w}))
