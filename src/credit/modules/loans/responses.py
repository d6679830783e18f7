"""The documented error answers of make-payment and view-statement, with realistic examples
(the loan of docs/servicing-example.md). The answers themselves are made once, from the
domain errors, in `credit.plugins.errors`."""

from __future__ import annotations

from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example


def _error(status: int, detail: str, key: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status_code": status, "detail": detail}
    if key is not None:
        body["extra"] = [{"key": key, "message": detail, "source": "body"}]
    return body


def _examples(status: int, *cases: tuple[str, str, str | None]) -> list[Example]:
    return [
        Example(id=name, summary=name.replace("_", " "), value=_error(status, detail, key))
        for name, detail, key in cases
    ]


LOAN_OF_CUSTOMER_NOT_FOUND = {
    404: ResponseSpec(
        data_container=dict,
        description="No such customer or loan, or the loan is another customer's.",
        generate_examples=False,
        examples=_examples(404, ("unknown_loan", "Customer 1 has no loan 8.", None)),
    )
}
LOAN_CLOSED = {
    409: ResponseSpec(
        data_container=dict,
        description="The loan is paid off: nothing is recorded.",
        generate_examples=False,
        examples=_examples(
            409, ("paid_off", "the loan is paid off: there is nothing left to pay", None)
        ),
    )
}
PAYMENT_REFUSED = {
    422: ResponseSpec(
        data_container=dict,
        description="The payment breaks a rule; `detail` names the figure and `extra` the "
        "field. Nothing is recorded.",
        generate_examples=False,
        examples=_examples(
            422,
            (
                "under_the_interest",
                "amount is under this installment's interest of 880.36",
                "amount",
            ),
            (
                "over_the_payoff",
                "amount is above the payoff of 80417.80, which closes the loan",
                "amount",
            ),
            (
                "last_installment_not_the_payoff",
                "this is the last installment: it must be the payoff of 9292.85",
                "amount",
            ),
            (
                "more_than_two_decimals",
                "amount 100.005 must be more than 0 with at most 2 decimals",
                "amount",
            ),
            ("paid_on_in_the_future", "paid_on 2026-06-02 is after today (2026-06-01)", "paid_on"),
            (
                "paid_on_before_the_start",
                "paid_on 2026-01-14 is before the loan's start (2026-01-15)",
                "paid_on",
            ),
            (
                "paid_on_before_the_last_payment",
                "paid_on 2026-04-20 is before the loan's last payment (2026-04-25)",
                "paid_on",
            ),
        ),
    )
}
