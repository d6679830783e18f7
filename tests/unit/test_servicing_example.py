"""docs/servicing-example.md is computed by the servicing rules, never typed by hand: this test
renders it again and fails when the file differs. Regenerate it with
`uv run python -m tests.unit.test_servicing_example`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import msgspec

from credit.lending.amortization import monthly_installment
from credit.lending.servicing import LoanTerms, apply_payment, booked_state
from credit.lending.statement import RecordedPayment, planned_schedule, statement_figures
from credit.modules.loans.payment_schemas import LoanStatement, PaymentReceipt

DOC = Path(__file__).resolve().parents[2] / "docs" / "servicing-example.md"
CUSTOMER_ID, LOAN_ID = 1, 7
TERMS = LoanTerms(Decimal("100000.00"), Decimal("12"), 12, date(2026, 1, 15))
STATEMENT_DAY = date(2026, 6, 1)
COLUMNS = [
    "installment",
    "due",
    "paid on",
    "what happened",
    "amount",
    "interest",
    "principal",
    "balance after",
    "on time",
    "EMI from now on",
]
HEADER = f"| {' | '.join(COLUMNS)} |\n|{'---|' * len(COLUMNS)}"


def _rupees(value: Decimal) -> str:
    return f"{value:,.2f}"


class Story(msgspec.Struct):
    receipt: PaymentReceipt  # the short payment's answer
    statement: LoanStatement
    markdown: str


def render() -> str:
    return tell().markdown


def tell() -> Story:
    emi = monthly_installment(TERMS.loan_amount, TERMS.interest_rate, TERMS.tenure)
    state = booked_state(TERMS, emi)
    paid: list[RecordedPayment] = []
    lines = []
    receipts = []
    # (what the borrower does, paid on, amount: None = the amount due that day)
    story: list[tuple[str, date, Decimal | None]] = [
        ("early: pays the EMI ten days before the due date", date(2026, 2, 5), None),
        ("short: pays 5,000 on the due date", date(2026, 3, 15), Decimal("5000.00")),
        ("late: pays the new EMI ten days after the due date", date(2026, 4, 25), None),
    ]
    for what, paid_on, amount in story:
        pay = state.amount_due if amount is None else amount
        allocation, state = apply_payment(state, pay, paid_on, paid_on)
        payment_id = len(paid) + 1
        paid.append(
            RecordedPayment(
                payment_id,
                allocation.installment,
                paid_on,
                allocation.amount,
                allocation.interest,
                allocation.principal,
                allocation.balance,
                allocation.on_time,
            )
        )
        receipts.append(PaymentReceipt.of(payment_id, CUSTOMER_ID, LOAN_ID, allocation))
        lines.append(
            f"| {allocation.installment} | {allocation.due_date} | {paid_on} | {what} "
            f"| {_rupees(allocation.amount)} | {_rupees(allocation.interest)} "
            f"| {_rupees(allocation.principal)} | {_rupees(allocation.balance)} "
            f"| {'yes' if allocation.on_time else 'no'} "
            f"| {_rupees(allocation.monthly_installment)} |"
        )
    figures = statement_figures(state, 0, emi, paid, STATEMENT_DAY)
    statement = LoanStatement.of(CUSTOMER_ID, LOAN_ID, state, figures, paid)
    plan = [line for line in planned_schedule(state, 0, paid) if line.settled_by is None]
    statement_json = msgspec.json.format(msgspec.json.encode(statement), indent=2).decode()
    receipt_json = msgspec.json.format(msgspec.json.encode(receipts[1]), indent=2).decode()
    markdown = f"""# Servicing: a worked example

Computed by `credit.lending.servicing` (regenerate with
`uv run python -m tests.unit.test_servicing_example`; a test fails when this file is stale).

Loan {LOAN_ID} of customer {CUSTOMER_ID}: {_rupees(TERMS.loan_amount)} at \
{TERMS.interest_rate} % a year (1 % a month) for {TERMS.tenure} months from {TERMS.start_date}, \
EMI {_rupees(emi)}. Installment `k` falls due on the 15th, `k` months after the start.

Each payment settles the next installment: one month's interest on the outstanding balance first,
the rest principal. A payment that differs from the EMI recalculates the EMI over the installments
still to come.

{HEADER}
{chr(10).join(lines)}

- The early payment is an ordinary installment: interest is one month on the balance whatever
  the day, and it counts as paid on time.
- The short payment covers the interest and some principal; the EMI goes up so that the
  remaining {TERMS.tenure - 2} installments still repay the loan by its end date.
- The late payment settles installment 3 at the new EMI, but it is not on time: the credit
  score counts it as due and not paid on time.

`POST /api/make-payment/{CUSTOMER_ID}/{LOAN_ID}` with `{{"amount": 5000, "paid_on": "2026-03-15"}}`
answered `201`:

```json
{receipt_json}
```

On {STATEMENT_DAY} nothing more has been paid: installment 4 fell due on \
{figures.next_due_date} and is overdue. `GET /api/view-statement/{CUSTOMER_ID}/{LOAN_ID}`:

```json
{statement_json}
```

The plan from now on (`GET /api/loans/{LOAN_ID}/schedule` shows the three payments first, then
these): {len(plan) - 1} installments of {_rupees(state.monthly_installment)} and a last one of \
{_rupees(plan[-1].emi)}, which takes what is left so the balance ends at 0.

Refusals on that day: an amount under the next installment's interest \
({_rupees(state.interest_due)}) or over the payoff ({_rupees(state.payoff)}) gets `422` naming \
that figure; exactly {_rupees(state.payoff)} closes the loan.
"""
    return Story(receipts[1], statement, markdown)


def test_the_worked_example_is_up_to_date() -> None:
    assert DOC.read_text() == render()


def _examples(schema: type[msgspec.Struct]) -> dict[str, object]:
    fields = msgspec.inspect.type_info(schema).fields  # type: ignore[attr-defined]
    return {
        field.name: msgspec.json.decode(
            msgspec.json.encode(field.type.extra_json_schema["examples"][0])
        )
        for field in fields
        if isinstance(field.type, msgspec.inspect.Metadata)
        and "examples" in (field.type.extra_json_schema or {})
    }


def test_the_openapi_examples_are_the_worked_example() -> None:
    story = tell()
    for schema, answer in ((PaymentReceipt, story.receipt), (LoanStatement, story.statement)):
        examples = _examples(schema)
        shown = msgspec.to_builtins(answer)
        assert examples, schema
        assert examples == {name: shown[name] for name in examples}


if __name__ == "__main__":
    DOC.write_text(render())
