"""The credit policy: its numbers (settings) and the slab and approval decisions (pure functions).

Everything here works on plain values so a decision can be read, tested and explained without
a database. The numbers default to the original system's and can be changed per deployment
through `CREDIT_*` environment variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from functools import cached_property

import msgspec

from credit.lending.amortization import monthly_installment, plain, to_money
from credit.lending.reasons import Reason, ReasonCode, in_policy_order


@dataclass(frozen=True)
class CreditPolicy:
    """The lender's rules; every number is a setting (`CREDIT_<FIELD>` in the environment)."""

    limit_multiple: int = 36
    limit_rounding: int = 100_000
    approve_above: int = 50
    min_rate_12_above: int = 30
    min_rate_16_above: int = 10
    mid_slab_min_rate: Decimal = Decimal("12")
    low_slab_min_rate: Decimal = Decimal("16")
    max_emi_share_of_income: Decimal = Decimal("0.5")
    # Credit-score weights (sum to 100) and the shapes of each component; see docs/credit-score.md.
    weight_paid_on_time: int = 40
    weight_loans_taken: int = 20
    weight_current_year_activity: int = 20
    weight_approved_volume: int = 20
    loans_taken_free: int = 5
    loans_taken_zero_at: int = 15
    current_year_zero_at: int = 4
    volume_free_multiple: Decimal = Decimal("1")
    volume_zero_multiple: Decimal = Decimal("3")
    no_history_on_time_share: Decimal = Decimal("0.5")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CreditPolicy:
        values: dict[str, int | Decimal] = {}
        for f in fields(cls):
            raw = env.get(f"CREDIT_{f.name.upper()}", "").strip()
            if raw:
                values[f.name] = Decimal(raw) if f.type == "Decimal" else int(raw)
        return cls(**values)  # type: ignore[arg-type]

    @cached_property
    def slabs(self) -> tuple[Slab, Slab, Slab, Slab]:
        """The four slabs, highest first, built once (every decision looks one up)."""
        return (
            Slab(f"above {self.approve_above}", approvable=True, min_rate=Decimal(0)),
            Slab(
                f"{self.min_rate_12_above + 1}-{self.approve_above}",
                approvable=True,
                min_rate=self.mid_slab_min_rate,
            ),
            Slab(
                f"{self.min_rate_16_above + 1}-{self.min_rate_12_above}",
                approvable=True,
                min_rate=self.low_slab_min_rate,
            ),
            Slab(f"{self.min_rate_16_above} or below", approvable=False, min_rate=Decimal(0)),
        )


class Slab(msgspec.Struct, frozen=True):
    """Where a score falls: whether it can be approved and the lowest rate it can have."""

    name: str
    approvable: bool
    min_rate: Decimal


def slab_for(score: int, policy: CreditPolicy) -> Slab:
    above, middle, low, refused = policy.slabs
    if score > policy.approve_above:
        return above
    if score > policy.min_rate_12_above:
        return middle
    if score > policy.min_rate_16_above:
        return low
    return refused


def approved_limit(monthly_income: Decimal, policy: CreditPolicy) -> Decimal:
    """`limit_multiple` x income, to the nearest lakh with ties going up (12,500 -> 5,00,000)."""
    lakhs = (monthly_income * policy.limit_multiple / policy.limit_rounding).quantize(
        Decimal(1), rounding="ROUND_HALF_UP"
    )
    return lakhs * policy.limit_rounding


class LoanRequest(msgspec.Struct, frozen=True):
    amount: Decimal
    interest_rate: Decimal
    tenure: int


class Borrower(msgspec.Struct, frozen=True):
    """What a decision needs to know of the customer besides the score."""

    monthly_income: Decimal
    approved_limit: Decimal
    current_loans_amount: Decimal
    current_emis: Decimal
    # Classified NPA at the latest close of day (`credit.lending.classification`).
    npa: bool = False


class Decision(msgspec.Struct, frozen=True):
    """The policy's answer: approved when no rule stops it, else every failing rule in policy
    order. `message` is the first reason's message, or says the loan is approvable."""

    approval: bool
    corrected_interest_rate: Decimal
    monthly_installment: Decimal
    slab: Slab
    message: str
    reasons: tuple[Reason, ...] = ()


def decide(
    score: int,
    borrower: Borrower,
    request: LoanRequest,
    policy: CreditPolicy,
    *,
    earned: int | None = None,
    rate_must_match: bool = False,
) -> Decision:
    """Apply the limit (rule 2), the slabs (rule 3), affordability (rule 4) and the limit with
    the new loan (rule 5) to one request, and list every rule that stops it.

    `earned` is the score the history earned before rule 2 zeroed it: a customer over the
    limit is told so, and told the score is too low only when the history alone makes it so.
    `rate_must_match` is create-loan's rule: a rate under the slab's minimum is a reason (the
    service never books at a rate the borrower did not ask for); check-eligibility instead
    offers the corrected rate."""
    slab = slab_for(score, policy)
    corrected_rate = max(request.interest_rate, slab.min_rate)
    emi = monthly_installment(request.amount, corrected_rate, request.tenure)
    reasons: list[Reason] = []
    current, limit = borrower.current_loans_amount, borrower.approved_limit
    over_limit = current > limit
    if over_limit:
        reasons.append(
            Reason(
                ReasonCode.OVER_APPROVED_LIMIT,
                f"Current loans come to {to_money(current)}, above the approved limit of "
                f"{to_money(limit)}: the credit score is 0 for that reason.",
            )
        )
    judged = earned if over_limit and earned is not None else score
    if judged <= policy.min_rate_16_above:
        reasons.append(
            Reason(
                ReasonCode.SCORE_TOO_LOW,
                f"Credit score {judged} is {policy.min_rate_16_above} or below; "
                "no loan can be approved.",
            )
        )
    if rate_must_match and slab.approvable and corrected_rate != request.interest_rate:
        reasons.append(
            Reason(
                ReasonCode.RATE_BELOW_SLAB,
                f"Not approved at {plain(request.interest_rate)}% a year: credit score {score} "
                f"needs at least {plain(slab.min_rate)}%. Apply again at "
                f"{plain(corrected_rate)}% or more.",
            )
        )
    max_emis = to_money(borrower.monthly_income * policy.max_emi_share_of_income)
    if borrower.current_emis + emi > max_emis:
        emis = to_money(borrower.current_emis)
        reasons.append(
            Reason(
                ReasonCode.EMI_OVER_INCOME_SHARE,
                f"Monthly installments would come to {emis + emi} (current {emis} + this "
                f"loan {emi}), above the {max_emis} allowed "
                f"({policy.max_emi_share_of_income * 100:.0f}% of monthly income).",
            )
        )
    if current + request.amount > limit:
        reasons.append(
            Reason(
                ReasonCode.OVER_LIMIT_WITH_NEW_LOAN,
                f"Current loans ({to_money(current)}) plus this loan ({request.amount}) come to "
                f"{to_money(current + request.amount)}, above the approved limit of "
                f"{to_money(limit)}.",
            )
        )
    if borrower.npa:
        reasons.append(
            Reason(
                ReasonCode.NPA,
                "The customer is classified NPA at the latest close of day (a loan more than "
                "90 days past due, or another loan of theirs is): no new loan until all "
                "arrears are paid.",
            )
        )
    if reasons:
        ordered = in_policy_order(reasons)
        return Decision(False, corrected_rate, emi, slab, ordered[0].message, ordered)
    if corrected_rate != request.interest_rate:
        message = (
            f"Approvable at {plain(corrected_rate)}% a year: credit score {score} needs a rate "
            f"of at least {plain(slab.min_rate)}%."
        )
    else:
        message = "Approved."
    return Decision(True, corrected_rate, emi, slab, message)
