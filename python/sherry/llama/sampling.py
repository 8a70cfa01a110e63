"""Choosing the next token from logits, as transformers' generate() does:
temperature, then top-k, then top-p (nucleus); greedy at temperature 0."""

import numpy as np


def check_options(temperature, top_k, top_p):
    """Raises ValueError naming a bad sampling option."""
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError("temperature must be >= 0 (0: greedy), got %r"
                         % (temperature,))
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) \
            or top_k < 0:
        raise ValueError("top_k must be an integer >= 0 (0: all), got %r"
                         % (top_k,))
    if not (0 < top_p <= 1):
        raise ValueError("top_p must be in (0, 1], got %r" % (top_p,))


def sample(logits, temperature=0.0, top_k=0, top_p=1.0, rng=None):
    """The next token id from a vector of logits. rng: a numpy Generator
    (default: a fresh unseeded one)."""
    check_options(temperature, top_k, top_p)
    logits = np.asarray(logits, np.float64)
    if not np.all(np.isfinite(logits)):
        raise ValueError("the logits hold NaN or infinity")
    if temperature == 0:
        return int(np.argmax(logits))
    scaled = logits / temperature
    order = np.argsort(-scaled, kind="stable")
    if 0 < top_k < len(order):
        order = order[:top_k]
    kept = scaled[order]
    probs = np.exp(kept - kept[0])
    probs /= probs.sum()
    if top_p < 1:
        # The fewest tokens whose probability reaches top_p (at least one).
        cut = int(np.searchsorted(np.cumsum(probs), top_p)) + 1
        order, probs = order[:cut], probs[:cut]
        probs = probs / probs.sum()
    if rng is None:
        rng = np.random.default_rng()
    return int(order[rng.choice(len(order), p=probs)])
