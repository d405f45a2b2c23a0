"""Text from outside (a department's extract, a typed name, a stored audit row) made safe to print
on a terminal through rich: control characters become visible escapes (an ANSI sequence cannot
recolour, move the cursor or hide a line) and rich's markup brackets are escaped."""

from __future__ import annotations

import unicodedata

from rich.markup import escape

CONTROL = ("Cc", "Cf", "Zl", "Zp")


def printable(value: object) -> str:
    text = "" if value is None else str(value)
    shown = "".join(
        c if unicodedata.category(c) not in CONTROL else c.encode("unicode_escape").decode("ascii") for c in text
    )
    return escape(shown)
