"""Access control and request limits as one plugin: keys, scopes, rate limits, body size.

`on_app_init` wires the middleware (authentication before rate limiting, so limits count
per key), the scope guard, the rate-limit counter and the body-size limit; `receive_route`
documents the resulting status codes on every `/api` operation; `on_cli_init` adds
`credit keys`.
"""

from __future__ import annotations

import logging

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from click import Group
from litestar.config.app import AppConfig
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.middleware.base import DefineMiddleware
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins import CLIPluginProtocol, InitPluginProtocol, ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

from credit.http import error
from credit.modules.access.auth import (
    API_KEY_HEADER,
    SECURITY_SCHEME,
    ApiKeyMiddleware,
    scope_guard,
)
from credit.modules.access.cli import keys_group
from credit.modules.access.rate_limit import (
    FallbackLimiter,
    Limit,
    RateLimitMiddleware,
    shared_limiter,
)
from credit.settings import Settings

logger = logging.getLogger("credit.security")

OPEN_WARNING = (
    "AUTH_REQUIRED is false: every /api route is open to anyone who can reach this port. "
    "Set AUTH_REQUIRED=true and create keys with `credit keys create` before exposing it."
)


ENFORCED_NOTE = f"""
**API keys: this server requires one.** Send it in the `{API_KEY_HEADER}` header on every
`/api` request; without a valid key the answer is 401, with a read key on a write 403, and
past the rate limits 429.
"""
OPEN_NOTE = f"""
**API keys: this server does not require one** (it runs with `AUTH_REQUIRED=false`). A
production server does: send the key in the `{API_KEY_HEADER}` header (ignored here), and
expect 401 without a valid key, 403 for a read key on a write, and 429 past the rate limits.
"""


class AccessPlugin(InitPluginProtocol, ReceiveRoutePlugin, CLIPluginProtocol):
    def __init__(self, settings: Settings, alchemy: SQLAlchemyAsyncConfig) -> None:
        self.settings = settings
        self.alchemy = alchemy

    def on_cli_init(self, cli: Group) -> None:
        cli.add_command(keys_group)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        settings = self.settings
        limiter = shared_limiter(settings.redis_url)
        if isinstance(limiter, FallbackLimiter):
            app_config.on_shutdown.append(limiter.close)
        if settings.auth_required:
            anonymous = (
                Limit(settings.rate_limit_anonymous_per_second, settings.rate_limit_anonymous_burst)
                if settings.rate_limit_anonymous_per_second > 0
                else None
            )
            app_config.middleware.append(
                DefineMiddleware(
                    ApiKeyMiddleware, alchemy=self.alchemy, anonymous=anonymous, limiter=limiter
                )
            )
            app_config.guards.append(scope_guard)
        else:
            app_config.on_startup.append(self._warn_open)
        # Documented whether or not this server enforces it: a client generated from the
        # quick start's document must know the key it will need in production.
        self._document_security(app_config, settings.auth_required)
        if settings.rate_limit_per_second > 0:
            limit = Limit(settings.rate_limit_per_second, settings.rate_limit_burst)
            app_config.middleware.append(
                DefineMiddleware(RateLimitMiddleware, limit=limit, limiter=limiter)
            )
        return app_config

    @staticmethod
    def _warn_open() -> None:
        logger.warning(OPEN_WARNING)

    @staticmethod
    def _document_security(app_config: AppConfig, enforced: bool) -> None:
        openapi = app_config.openapi_config
        if openapi is None:
            return
        openapi.description = (openapi.description or "") + (
            ENFORCED_NOTE if enforced else OPEN_NOTE
        )
        scheme = SecurityScheme(
            type="apiKey",
            name=API_KEY_HEADER,
            security_scheme_in="header",
            description="A key from `credit keys create`; read keys cannot register, book or "
            "ingest.",
        )
        components = openapi.components
        if isinstance(components, list):
            components.append(Components(security_schemes={SECURITY_SCHEME: scheme}))
        else:
            openapi.components = [
                components,
                Components(security_schemes={SECURITY_SCHEME: scheme}),
            ]

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api"):
            return
        for handler in route.route_handlers:
            self._document(handler)

    def _document(self, handler: HTTPRouteHandler) -> None:
        extra = {}
        if handler.http_methods & {"POST", "PUT", "PATCH"}:
            extra[413] = error("The request body is larger than allowed.", 413)
        # Always documented (the description says whether this server enforces them); an
        # open server also accepts no key at all (the empty requirement).
        extra[401] = error(f"No API key in `{API_KEY_HEADER}`, or it is unknown or revoked.", 401)
        extra[403] = error("The API key's scope does not allow this operation.", 403)
        requirement: list[dict[str, list[str]]] = [{SECURITY_SCHEME: []}]
        if not self.settings.auth_required:
            requirement.append({})
        handler.security = [*(handler.security or []), *requirement]
        extra[429] = error("Too many requests; see the RateLimit-* headers.", 429)
        handler.responses = {**extra, **(handler.responses or {})}
