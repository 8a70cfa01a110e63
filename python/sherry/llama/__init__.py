"""Whole LLaMA-architecture models on Sherry's kernels: the model as MLIR
(sherry.llama.ir), a numpy reference (sherry.llama.reference), and
LlamaModel, which compiles a configuration once and runs checkpoints of it
(docs/models.md)."""

from .config import LlamaConfig, ModelError
from .checkpoint import load_checkpoint, load_gguf, save_gguf
from .model import GenerationResult, LlamaModel
from .sampling import sample
from .tokenizer import ByteLevelBPE

__all__ = ["ByteLevelBPE", "GenerationResult", "LlamaConfig", "LlamaModel", "ModelError",
           "load_checkpoint", "load_gguf", "sample", "save_gguf"]
