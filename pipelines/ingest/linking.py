"""Linking records that arrive without a credit code (a complaint naming a shop and an
address) to enterprises, by name + address matching. The link keeps its method and score.

Blocking: candidates share the normalised address (the street number and room, without city
and district prefixes). Within a block, the name score is rapidfuzz's token-set ratio between
normalised names; the best candidate at or above the threshold is linked.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

_LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "合伙企业(有限合伙)", "专业合作社", "经营部", "店")
_ADMIN = re.compile(r"^(.{2,3}省)?(.{2,4}市)?(.{2,3}区)?")


def normalise_name(name: str) -> str:
    """佛山市南海区恒达五金有限公司 -> 恒达五金 (the part a consumer would say)."""
    name = _ADMIN.sub("", name.replace("(", "（").replace(")", "）").replace("（有限合伙）", ""))
    for form in _LEGAL_FORMS:
        if name.endswith(form) and len(name) > len(form) + 1:
            return name[: -len(form)]
    return name


def normalise_address(address: str) -> str:
    """佛山市顺德区大良街道德和路12号301室 -> 大良街道德和路12号301室."""
    return _ADMIN.sub("", address).replace(" ", "")


class NameAddressIndex:
    """Registered enterprises blocked by normalised address, built once per ingest run."""

    def __init__(self, registry: pd.DataFrame) -> None:
        self.blocks: dict[str, tuple[list[str], list[str]]] = {}
        for uscc, name, address in zip(registry["uscc"], registry["name"], registry["address"], strict=True):
            names, codes = self.blocks.setdefault(normalise_address(address), ([], []))
            names.append(normalise_name(name))
            codes.append(uscc)

    def link(self, records: pd.DataFrame, name_col: str, address_col: str, threshold: float) -> pd.DataFrame:
        """For each record: the linked uscc (or None) and the best match score in [0, 1]."""
        linked = np.full(len(records), None, dtype=object)
        confidence = np.full(len(records), np.nan)
        for i, (name, address) in enumerate(zip(records[name_col], records[address_col], strict=True)):
            if not isinstance(name, str) or not isinstance(address, str):
                continue
            block = self.blocks.get(normalise_address(address))
            if block is None:
                continue
            best = process.extractOne(normalise_name(name), block[0], scorer=fuzz.token_set_ratio)
            if best is None:
                continue
            _, score, pos = best
            confidence[i] = score / 100
            if score / 100 >= threshold:
                linked[i] = block[1][pos]
        return pd.DataFrame({"linked_uscc": linked, "link_confidence": confidence}, index=records.index)
