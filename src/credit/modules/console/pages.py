"""What every console page is built from: the template with the officer (for the open-service
notice and the write controls), and the console's error page, which shows the API's own
status and message for the same error and never a stack trace."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_500_INTERNAL_SERVER_ERROR

from credit.modules.console.officer import Officer, SignInRequired
from credit.plugins.errors import api_exception_handlers

logger = logging.getLogger("credit.console")

API_HANDLERS = api_exception_handlers()


def page(name: str, officer: Officer | None, status_code: int = 200, **context: Any) -> Template:
    return Template(
        template_name=name,
        context={"officer": officer, **context},
        status_code=status_code,
        media_type=MediaType.HTML,
    )


def see_other(path: str) -> Redirect:
    """After a write: the browser fetches the result's own address (bookmarkable; a reload
    does not post again)."""
    return Redirect(path=path, status_code=HTTP_303_SEE_OTHER)


def sign_in_first(request: Request[Any, Any, Any], _: SignInRequired) -> Response[Any]:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/console/sign-in?next={quote(target, safe='')}"
    if request.headers.get("hx-request"):
        # htmx follows a redirect inside the swap; this makes the whole page go.
        return Response(None, status_code=200, headers={"HX-Redirect": location})
    return Redirect(path=location, status_code=HTTP_303_SEE_OTHER)


def status_and_detail(request: Request[Any, Any, Any], exc: Exception) -> tuple[int, str]:
    """The API's answer to the same error: its status and its `detail`."""
    if isinstance(exc, HTTPException):
        return exc.status_code or HTTP_500_INTERNAL_SERVER_ERROR, exc.detail
    # As Litestar picks a handler: the nearest class in the error's MRO, else the 500 one.
    handler = next(
        (API_HANDLERS[cls] for cls in type(exc).__mro__ if cls in API_HANDLERS),
        API_HANDLERS[HTTP_500_INTERNAL_SERVER_ERROR],
    )
    answer = handler(request, exc)
    body: Any = answer.content
    if isinstance(body, bytes):
        body = msgspec.json.decode(body)
    status = answer.status_code or HTTP_500_INTERNAL_SERVER_ERROR
    return status, str(body.get("detail", "Internal server error."))


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status, detail = status_and_detail(request, exc)
    open_service = not request.app.state.settings.auth_required
    return page(
        "error.html", None, status_code=status, status=status, detail=detail, open=open_service
    )
