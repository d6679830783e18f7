"""HTTP for the close of day: start a close (`POST /api/close-day` -> 202 with the job id;
`GET /api/jobs/{job_id}` follows it), the portfolio at a closed date, and a loan's
classification history."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_202_ACCEPTED

from credit.http import (
    BAD_REQUEST,
    NOT_FOUND,
    UNSUPPORTED_MEDIA_TYPE,
    ApiError,
    LoanIdPath,
    error,
    ok,
    only_query,
)
from credit.modules.loans.api import LoanService
from credit.modules.portfolio.close import dates_to_close
from credit.modules.portfolio.schemas import (
    ClassificationHistory,
    ClassificationPeriod,
    CloseAccepted,
    CloseRequest,
    Portfolio,
)
from credit.modules.portfolio.service import PortfolioService
from credit.plugins.queue import JobRunner

NOT_OVER = "date 2026-06-01 is not over yet (today is 2026-06-01): only a past date can be closed"
DATE_NOT_OVER = {
    422: ResponseSpec(
        data_container=ApiError,
        description="The date is today or later: only a past date can be closed.",
        generate_examples=False,
        examples=[
            Example(
                id="date_not_over",
                summary="date not over",
                value={
                    "status_code": 422,
                    "detail": NOT_OVER,
                    "extra": [{"key": "date", "message": NOT_OVER, "source": "body"}],
                },
            )
        ],
    )
}


class PortfolioController(Controller):
    path = "/api"
    tags = ["Portfolio"]

    @post(
        "/close-day",
        status_code=HTTP_202_ACCEPTED,
        operation_id="closeDay",
        summary="Close the day and classify every loan by days past due",
        description="Closes every date after the last closed one up to `date` (default: "
        "yesterday, lender's time zone: send `{}`), in order; the first close ever closes only "
        "`date`. "
        "A date on or after today is refused (422). A date already closed is never closed "
        "again. Answers 202 with the job id: follow it at `GET /api/jobs/{job_id}`.",
        responses={
            202: ok(CloseAccepted, "Queued; follow the job id."),
            **BAD_REQUEST,
            **DATE_NOT_OVER,
            **UNSUPPORTED_MEDIA_TYPE,
            503: error("The job queue (Redis) is unreachable.", 503),
        },
    )
    async def close_day(
        self,
        job_runner: NamedDependency[JobRunner],
        today: NamedDependency[date],
        data: JSONBody[CloseRequest],
    ) -> CloseAccepted:
        until = data.date
        if until is not None:
            dates_to_close(None, until, today)  # refuses today and later at once
        job_id = await job_runner.enqueue(
            "close_day",
            until=None if until is None else until.isoformat(),
            today=today.isoformat(),
        )
        return CloseAccepted(job_id=job_id)

    @get(
        "/portfolio",
        operation_id="portfolio",
        summary="The portfolio at a closed date: loans and outstanding by classification",
        description="`as_of` defaults to the latest closed date. PAR 30 / PAR 90: outstanding "
        "of loans more than 30 / 90 days past due over all outstanding; `npa_ratio`: NPA "
        "outstanding over all outstanding (4 decimals; 0 when nothing is outstanding). A date "
        "not closed: 404 naming the latest closed date.",
        responses={200: ok(Portfolio, "The summary of that close."), **BAD_REQUEST, **NOT_FOUND},
        guards=[only_query("as_of")],
    )
    async def portfolio(
        self,
        portfolio_service: NamedDependency[PortfolioService],
        as_of: Annotated[
            date | None,
            Parameter(
                description="A closed date (default: the latest), `YYYY-MM-DD`.",
                required=False,
                # The query carries text: the pattern states what `format: date` alone leaves
                # to the client (fuzzers ignore formats in the query).
                schema_extra={"pattern": r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"},
            ),
        ] = None,
    ) -> Portfolio:
        latest = await portfolio_service.latest_closed()
        day = as_of or latest
        found = None if day is None else await portfolio_service.closed_day(day)
        if found is None or day is None:
            if latest is None:
                raise NotFoundException(detail="Nothing has been closed yet.")
            raise NotFoundException(
                detail=f"{day} is not a closed date; the latest closed date is {latest}.",
                extra={"latest_closed": latest.isoformat()},
            )
        return Portfolio.of(found, await portfolio_service.day_summary(day))

    @get(
        "/loans/{loan_id:int}/classification-history",
        operation_id="classificationHistory",
        summary="A loan's asset classification history",
        description="The periods, oldest first: `classification`, `from` (the first closed "
        "date in it) and `to` (the last; null while it lasts). Written only when the class "
        "changes. `[]` before the loan's first close.",
        responses={
            200: ok(ClassificationHistory, "The periods, oldest first."),
            **BAD_REQUEST,
            **NOT_FOUND,
        },
    )
    async def classification_history(
        self,
        loan_id: LoanIdPath,
        loans: NamedDependency[LoanService],
        portfolio_service: NamedDependency[PortfolioService],
    ) -> ClassificationHistory:
        await loans.loan_with_customer(loan_id)  # 404 for no such loan
        periods = [
            ClassificationPeriod(row["classification"], row["from_date"], row["to_date"])
            for row in await portfolio_service.history(loan_id)
        ]
        return ClassificationHistory(loan_id=loan_id, periods=periods)
