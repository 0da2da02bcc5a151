"""Secure summation of count vectors: the central side learns the sum over centres, never one
centre's vector.

Each centre adds to its vector, modulo 2^128, one pseudo-random mask per other centre, derived
from a consortium secret that the centres share and the central server does not hold: centre a
adds +m(a, b) and centre b adds -m(a, b), so every mask cancels in the sum. A mask is bound to the
round's nonce *and* to the exact question asked (its canonical JSON), so a central side that
asks two different questions under one nonce gets unrelated masks and learns nothing from their
difference. Written here rather than taken from a library: the scheme is twenty lines of hashlib
and no maintained Python package offers pairwise-mask summation without a network stack.

Limits (docs/federated.md): a centre colluding with the central side can subtract its own
vector, so with three centres two colluders are needed to isolate the third; a centre that drops
out after masking breaks the round (it fails whole, nothing partial is released).
"""
from __future__ import annotations

import hashlib
import json
from fractions import Fraction

import numpy as np

__all__ = ["MODULUS_BITS", "FIXED_POINT_BITS", "mask", "masked", "unmask_sum", "encode_fixed",
           "decode_fixed", "question_digest"]

#: Sums are taken modulo 2^128: Firth's moments are summed as fixed-point numbers with 52 binary
#: digits after the point (1e-8 on the coefficients needs more than 2^64 leaves beside a third moment).
MODULUS_BITS = 128
#: Binary digits kept after the point when a real number (Firth's moments) is summed securely.
FIXED_POINT_BITS = 52
_MOD = 1 << MODULUS_BITS
_BYTES = MODULUS_BITS // 8


def question_digest(question) -> bytes:
    """The canonical bytes of a question (sorted-key JSON), which every mask of its round depends on."""
    return hashlib.sha256(json.dumps(question, sort_keys=True, separators=(",", ":")).encode()).digest()


def _pair_stream(secret: bytes, a, b, nonce: str, digest: bytes, length: int) -> list[int]:
    low, high = sorted((str(a), str(b)))
    seed = b"\x00".join([secret, low.encode(), high.encode(), nonce.encode(), digest])
    raw = hashlib.shake_256(seed).digest(_BYTES * length)
    return [int.from_bytes(raw[k * _BYTES:(k + 1) * _BYTES], "little") for k in range(length)]


def mask(secret: bytes, me, centres, nonce: str, question, length: int) -> list[int]:
    """The sum of this centre's pairwise masks, modulo 2^128."""
    digest = question_digest(question)
    total = [0] * length
    for other in centres:
        if str(other) == str(me):
            continue
        sign = 1 if str(me) < str(other) else -1
        stream = _pair_stream(secret, me, other, nonce, digest, length)
        total = [(t + sign * s) % _MOD for t, s in zip(total, stream)]
    return total


def masked(values, secret: bytes, me, centres, nonce: str, question) -> list[str]:
    """``values`` (integers, negative allowed) plus this centre's mask, as decimal strings."""
    v = [int(x) for x in values]
    m = mask(secret, me, centres, nonce, question, len(v))
    return [str((a + b) % _MOD) for a, b in zip(v, m)]


def unmask_sum(vectors) -> list[int]:
    """The sum of the centres' masked vectors: the masks cancel, leaving the sum (signed)."""
    total = None
    for vec in vectors:
        arr = [int(x) for x in vec]
        total = arr if total is None else [(a + b) % _MOD for a, b in zip(total, arr)]
    return [t - _MOD if t >= _MOD // 2 else t for t in total]


def encode_fixed(values) -> list[int]:
    """Real numbers as integers with :data:`FIXED_POINT_BITS` binary digits after the point (exact:
    a float's own digits are kept, so only the sum's last bits round)."""
    out = []
    for x in np.ravel(np.asarray(values, dtype=float)):
        if not np.isfinite(x) or abs(x) >= 2.0 ** (MODULUS_BITS - 4 - FIXED_POINT_BITS):
            raise ValueError("a moment is not finite or too large to be summed securely")
        out.append(round(Fraction(float(x)) * (1 << FIXED_POINT_BITS)))
    return out


def decode_fixed(values) -> np.ndarray:
    return np.array([float(Fraction(int(v), 1 << FIXED_POINT_BITS)) for v in values])
