"""How large an id may be: every id the service shows must read back exactly in JSON.

A JSON client in JavaScript reads numbers as doubles, exact up to 2^53 - 1; a larger id
would silently name another customer or loan. Ids in requests are refused above it, and the
OpenAPI document gives it as their maximum. Ids from the lender's files stop at half of that,
so the ids the API hands out after the largest of them stay exact too.
"""

from __future__ import annotations

MAX_ID = 2**53 - 1
MAX_FILE_ID = MAX_ID // 2
