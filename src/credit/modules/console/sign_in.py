"""The console's front door: sign in with an API key, sign out, and `/console` itself."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.status_codes import HTTP_401_UNAUTHORIZED

from credit.modules.access.service import ApiKeyService
from credit.modules.console.officer import sign_in
from credit.modules.console.pages import page, see_other
from credit.settings import Settings

HOME = "/console/customers"


def safe_next(target: str | None) -> str:
    """Only an address of the console itself (never another site)."""
    if target and target.startswith("/console/") and not target.startswith("/console//"):
        return target
    return HOME


class SignInController(Controller):
    path = "/console"

    @get("/", name="console:home")
    async def home(self) -> Response[Any]:
        return see_other(HOME)

    @get("/sign-in", name="console:sign-in")
    async def sign_in_page(
        self, settings: NamedDependency[Settings], next: FromQuery[str | None] = None
    ) -> Response[Any]:
        if not settings.auth_required:
            return see_other(safe_next(next))
        return page("sign_in.html", None, next=safe_next(next), errors={})

    @post("/sign-in", name="console:sign-in-post")
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        api_keys: NamedDependency[ApiKeyService],
    ) -> Response[Any]:
        form = await request.form()
        target = safe_next(str(form.get("next") or ""))
        if not settings.auth_required:
            return see_other(target)
        presented = str(form.get("api_key") or "")
        if not presented.strip():
            errors = {"api_key": "Enter your API key."}
        elif await sign_in(request, api_keys, presented):
            return see_other(target)
        else:
            # The API's answer to the same key (never echoing the key).
            errors = {"api_key": "The API key is unknown or revoked."}
        return page(
            "sign_in.html", None, status_code=HTTP_401_UNAUTHORIZED, next=target, errors=errors
        )

    @post("/sign-out", name="console:sign-out")
    async def sign_out(self, request: Request[Any, Any, Any]) -> Response[Any]:
        request.clear_session()
        return see_other("/console/sign-in")
