"""What other modules may know of customers: the rule a name follows, wherever it comes from
(`POST /api/register`, `PATCH`, or a row of customer_data.xlsx)."""

from __future__ import annotations

# Characters that print nothing: C0/C1 controls (line breaks and NUL included), the soft
# hyphen, zero-width and direction marks, line/paragraph separators, word joiners and the BOM.
# A character class body that Python's `re` and Polars' (Rust) regex both read.
INVISIBLE = "\\x00-\\x1f\\x7f-\\x9f\\xad\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff"
# Some visible character, and none of the invisible ones (spaces around it are trimmed);
# `(?!\n)`: Python's `$` also matches before a final line break.
NAME_PATTERN = f"^[^{INVISIBLE}]*[^\\s{INVISIBLE}][^{INVISIBLE}]*$(?!\\n)"
MAX_NAME_LENGTH = 100
