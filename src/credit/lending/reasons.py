"""Why a loan is not approved: each rule of the credit policy that stops it, as a coded reason.

The codes are the contract's ("Decisions"), declared here in policy order: a decision lists
every rule that fails, in this order, and its message names the figures that broke the rule.
A new rule (the close of day's `npa`) is one more member, placed where the policy checks it,
and one more check in `policy.decide`.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class ReasonCode(StrEnum):
    """The rules that can stop an approval, in the order the policy checks them."""

    OVER_APPROVED_LIMIT = "over_approved_limit"
    SCORE_TOO_LOW = "score_too_low"
    RATE_BELOW_SLAB = "rate_below_slab"
    EMI_OVER_INCOME_SHARE = "emi_over_income_share"
    OVER_LIMIT_WITH_NEW_LOAN = "over_limit_with_new_loan"
    NPA = "npa"


POLICY_ORDER = {code: rank for rank, code in enumerate(ReasonCode)}


class Reason(msgspec.Struct, frozen=True):
    """One failing rule: its code and, in the lender's words, the figures that broke it."""

    code: ReasonCode
    message: str


def in_policy_order(reasons: list[Reason]) -> tuple[Reason, ...]:
    return tuple(sorted(reasons, key=lambda reason: POLICY_ORDER[reason.code]))
