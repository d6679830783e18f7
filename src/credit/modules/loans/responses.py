"""The loans module's shared error specs: the documented error answers of create-loan,
make-payment and view-statement, with realistic examples (the loan of
docs/servicing-example.md). The answers themselves are made once, from the domain errors, in
`credit.plugins.errors`; each success answer documents itself (its Struct's `example`)."""

from __future__ import annotations

from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from credit.http import ApiError


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


def _invalid(name: str, path: str, message: str, key: str, source: str) -> Example:
    """A 400 as Litestar's validation answers it."""
    value = {
        "status_code": 400,
        "detail": f"Validation failed for {path}",
        "extra": [{"message": message, "key": key, "source": source}],
    }
    return Example(id=name, summary=name.replace("_", " "), value=value)


PAYMENT_PATH = "POST /api/make-payment/1/7"
PAYMENT_BAD_REQUEST = {
    400: ResponseSpec(
        data_container=ApiError,
        description="The request is malformed or a field is out of range; `extra` names it. "
        "Nothing is recorded.",
        generate_examples=False,
        examples=[
            _invalid(
                "amount_not_positive", PAYMENT_PATH, "Expected `float` > 0.0", "amount", "body"
            ),
            _invalid(
                "paid_on_not_a_date",
                PAYMENT_PATH,
                "Invalid RFC3339 encoded date",
                "paid_on",
                "body",
            ),
            _invalid(
                "amount_missing",
                PAYMENT_PATH,
                "Object missing required field `amount`",
                "amount",
                "body",
            ),
            _invalid(
                "malformed_idempotency_key",
                PAYMENT_PATH,
                "Expected `str` matching regex '^[\\x21-\\x7E]+$'",
                "idempotency_key",
                "header",
            ),
        ],
    )
}
STATEMENT_BAD_REQUEST = {
    400: ResponseSpec(
        data_container=ApiError,
        description="An id is not a positive integer; `extra` names it.",
        generate_examples=False,
        examples=[
            _invalid(
                "loan_id_not_positive",
                "GET /api/view-statement/1/0",
                "Expected `int` >= 1",
                "loan_id",
                "path",
            )
        ],
    )
}


LOAN_OF_CUSTOMER_NOT_FOUND = {
    404: ResponseSpec(
        data_container=ApiError,
        description="No such customer or loan, or the loan is another customer's.",
        generate_examples=False,
        examples=_examples(404, ("unknown_loan", "Customer 1 has no loan 8.", None)),
    )
}
LOAN_CLOSED = {
    409: ResponseSpec(
        data_container=ApiError,
        description="The loan is paid off (nothing is recorded), or, rarely, it kept moving "
        "under concurrent payments from other processes: retry.",
        generate_examples=False,
        examples=_examples(
            409,
            ("paid_off", "the loan is paid off: there is nothing left to pay", None),
            ("loan_kept_moving", "loan 7 kept moving under its payment", None),
        ),
    )
}
IDEMPOTENCY_KEY_REUSED = (
    "key_reused_with_another_request",
    "This Idempotency-Key was already used with a different request; use a new key.",
    "Idempotency-Key",
)
PAYMENT_REFUSED = {
    422: ResponseSpec(
        data_container=ApiError,
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
            IDEMPOTENCY_KEY_REUSED,
        ),
    )
}
KEY_REUSED = {
    422: ResponseSpec(
        data_container=ApiError,
        description="The Idempotency-Key was already used with a different request; nothing "
        "is written.",
        generate_examples=False,
        examples=_examples(422, IDEMPOTENCY_KEY_REUSED),
    )
}
