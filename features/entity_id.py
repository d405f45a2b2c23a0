"""The unified social credit code (统一社会信用代码, GB 32100-2015).

An 18-character code: registration authority (1), organisation category (1), administrative
division (6), organisation code (9, with its own GB 11714 check character) and a check
character over the first 17 characters, modulo 31.
"""

from __future__ import annotations

import numpy as np

# GB 32100-2015 table 1: the 31 code characters; I, O, S, V and Z are never used.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
# Weight of position i (0-based) is 3**i mod 31.
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)

# GB 11714-1997: the organisation code's 8 body characters use 0-9 and A-Z, weighted as below.
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a code."""
    if len(first17) != 17:
        raise ValueError(f"expected 17 characters before the check character, got {len(first17)}")
    try:
        total = sum(_VALUE[ch] * int(w) for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    except KeyError as err:
        raise ValueError(f"character {err.args[0]!r} is not in the GB 32100 alphabet") from err
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: object) -> bool:
    """True when `code` is an 18-character code whose last character is its check character."""
    if not isinstance(code, str) or len(code) != 18:
        return False
    if any(ch not in _VALUE for ch in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def org_code_check_char(body8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body."""
    total = sum(_ORG_ALPHABET.index(ch) * int(w) for ch, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def uscc_valid_mask(codes: np.ndarray) -> np.ndarray:
    """Vectorised `is_valid_uscc` over an array of strings (None, bad length or non-ASCII are invalid)."""
    codes = np.asarray(codes, dtype=object)
    shaped = np.array([isinstance(c, str) and len(c) == 18 and c.isascii() for c in codes], dtype=bool)
    out = np.zeros(len(codes), dtype=bool)
    if not shaped.any():
        return out
    chars = np.array(codes[shaped].tolist(), dtype="S18").view(np.uint8).reshape(-1, 18)
    values = _BYTE_VALUE[chars]
    alphabet_ok = (values >= 0).all(axis=1)
    expected = (31 - (values[:, :17] * USCC_WEIGHTS).sum(axis=1) % 31) % 31
    out[shaped] = alphabet_ok & (expected == values[:, 17])
    return out


_BYTE_VALUE = np.full(256, -1, dtype=np.int64)
for _ch, _v in _VALUE.items():
    _BYTE_VALUE[ord(_ch)] = _v


def make_usccs(authority_category: np.ndarray, division: np.ndarray, bodies: np.ndarray) -> np.ndarray:
    """Valid codes from their parts: `authority_category` like "92", `division` like "440604"
    and an 8-digit organisation-code body per row; both check characters are computed."""
    out = np.empty(len(bodies), dtype=object)
    for i, (ac, dv, body) in enumerate(zip(authority_category, division, bodies, strict=True)):
        b = f"{int(body):08d}"
        first17 = f"{ac}{dv}{b}{org_code_check_char(b)}"
        out[i] = first17 + uscc_check_char(first17)
    return out
