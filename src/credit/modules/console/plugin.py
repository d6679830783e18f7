"""Registers the console at /console: its pages (one router, not in the OpenAPI document),
its session and CSRF protection (on the console's paths only; the JSON API keeps its API
keys), the Jinja templates with the console's filters, its vendored static files, and the
error pages that show the API's message for the same error.

The session and CSRF cookies are sealed with keys derived from `CONSOLE_SECRET`; without
it, a secret is made up when the process starts (docs/decisions.md, "The console").
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from pathlib import Path
from typing import Any

from litestar import Router
from litestar.config.app import AppConfig
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.plugins import InitPluginProtocol
from litestar.plugins.htmx import HTMXRequest
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.template.config import TemplateConfig

from credit.db.database import service_provider
from credit.modules.access.service import ApiKeyService
from credit.modules.console.apply import ApplyController
from credit.modules.console.customers import CustomersController
from credit.modules.console.formatting import FILTERS
from credit.modules.console.loans import LoanPagesController
from credit.modules.console.officer import SignInRequired, signed_in_officer
from credit.modules.console.operations import OperationsController
from credit.modules.console.pages import API_HANDLERS, error_page, sign_in_first
from credit.modules.console.portfolio import PortfolioPageController
from credit.modules.console.sign_in import SignInController
from credit.settings import Settings

logger = logging.getLogger("credit.console")

HERE = Path(__file__).parent
NOT_THE_CONSOLE = r"^/(?!console(/|$)).+"
CONTROLLERS = [
    SignInController,
    CustomersController,
    ApplyController,
    LoanPagesController,
    OperationsController,
    PortfolioPageController,
]


def derived(secret: str, purpose: str) -> bytes:
    """One key per use from the one secret (the session's, the CSRF token's)."""
    return hashlib.sha256(f"credit-console:{purpose}:{secret}".encode()).digest()


def register_filters(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update(FILTERS)


class ConsolePlugin(InitPluginProtocol):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        settings = self.settings
        secret = settings.console_secret
        if secret is None:
            # Sign-ins then last as long as the process; several web processes need one secret.
            secret = secrets.token_urlsafe(32)
            if settings.auth_required:
                app_config.on_startup.append(_warn_secret_made_up)
        session = CookieBackendConfig(
            secret=derived(secret, "session"),
            key="console_session",
            path="/console",
            max_age=max(60, int(settings.console_session_hours * 3600)),
            httponly=True,
            samesite="strict",
            secure=settings.console_secure_cookies,
            # App-wide middleware (a router's would be deep-copied with its cipher), for the
            # console's paths only.
            exclude=[NOT_THE_CONSOLE],
        )
        csrf = CSRFConfig(
            secret=derived(secret, "csrf").hex(),
            cookie_name="console_csrf",
            cookie_path="/console",
            cookie_httponly=True,
            cookie_samesite="strict",
            cookie_secure=settings.console_secure_cookies,
        )
        handlers: dict[Any, Any] = dict.fromkeys(API_HANDLERS, error_page)
        handlers |= {
            Exception: error_page,
            HTTP_500_INTERNAL_SERVER_ERROR: error_page,
            SignInRequired: sign_in_first,
        }
        console = Router(
            path="/",
            route_handlers=CONTROLLERS,
            middleware=[DefineMiddleware(CSRFMiddleware, config=csrf)],
            dependencies={
                "api_keys": service_provider(ApiKeyService),
                "officer": Provide(signed_in_officer),
            },
            exception_handlers=handlers,
            request_class=HTMXRequest,
            include_in_schema=False,
        )
        static = create_static_files_router(
            path="/console/static",
            directories=[HERE / "static"],
            name="console-static",
            include_in_schema=False,
        )
        app_config.middleware.append(session.middleware)
        app_config.route_handlers.extend([console, static])
        app_config.template_config = TemplateConfig(
            directory=HERE / "templates",
            engine=JinjaTemplateEngine,
            engine_callback=register_filters,
        )
        return app_config


def _warn_secret_made_up() -> None:
    logger.warning(
        "CONSOLE_SECRET is not set: console sign-ins last until this process stops, and "
        "another web process will not know them. Set CONSOLE_SECRET when running several."
    )
