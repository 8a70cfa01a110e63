"""Convert a LLaMA checkpoint into a Sherry GGUF file, as llama.cpp's
llama-quantize makes a quantized GGUF from a float one.

  python3 -m sherry.llama.convert SRC OUT.gguf [--dense-type f16|f32]

SRC is a Hugging Face checkpoint directory (config.json, safetensors) or a
GGUF file of architecture llama. The projections are ternarized into STQ1_0
(3:4-sparse ternary, group scales of 256); embeddings and lm_head are
written as --dense-type (default f16), norms as f32. general.architecture,
the llama.* hyperparameters and general.file_type are set; a GGUF source's
other metadata (its tokenizer, general.name) is kept, and a Hugging Face
directory's byte-level BPE tokenizer.json becomes tokenizer.ggml.*.
"""

import argparse
import os
import sys
import time

from .. import gguf
from ..errors import SherryError
from .checkpoint import (gguf_carried_metadata, hf_tokenizer_metadata,
                         load_checkpoint, load_gguf, save_gguf)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python3 -m sherry.llama.convert",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("source", help="a Hugging Face directory or a GGUF file")
    ap.add_argument("output", help="the GGUF file to write")
    ap.add_argument("--dense-type", choices=["f16", "f32"], default="f16",
                    help="type of token_embd and output (default f16)")
    ap.add_argument("--stq1_0-type", type=int, metavar="ID",
                    help="the ggml type id of STQ1_0 tensors, in a GGUF "
                    "source and in the output (default %d, the published "
                    "STQ1_0 models'; 43 for llama.cpp builds with the "
                    "rebased STQ1_0 pull request)" % gguf.STQ1_0_TYPE)
    a = ap.parse_args(argv)
    try:
        started = time.perf_counter()
        if os.path.isdir(a.source):
            config, weights = load_checkpoint(a.source)
            metadata = hf_tokenizer_metadata(a.source)
        else:
            config, weights = load_gguf(a.source, a.stq1_0_type)
            metadata = gguf_carried_metadata(a.source, a.stq1_0_type)
        save_gguf(a.output, config, weights, "stq1_0", a.dense_type,
                  metadata, a.stq1_0_type)
    except (SherryError, OSError) as e:
        sys.exit("sherry.llama.convert: %s" % e)
    size = os.path.getsize(a.output)
    projections, other = config.parameter_count()
    print("wrote %s: %d layers, %d projection weights as STQ1_0, %d other "
          "parameters (%s), %.2f MiB, %.1f s"
          % (a.output, config.num_hidden_layers, projections, other,
             a.dense_type, size / 2.0 ** 20, time.perf_counter() - started))
    type_id = gguf.STQ1_0_TYPE if a.stq1_0_type is None else a.stq1_0_type
    collision = gguf.stq1_0_type_collision(type_id)
    if collision:
        print("sherry.llama.convert: warning: %s holds STQ1_0 tensors under "
              "type id %d, which is %s: a ggml that numbers it so reads them "
              "as that type and refuses the file (the sizes disagree); "
              "--stq1_0-type=43 writes the id of the rebased STQ1_0 pull "
              "request" % (a.output, type_id, collision), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
