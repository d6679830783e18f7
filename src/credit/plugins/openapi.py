"""OpenAPI at /schema with Scalar (default), Swagger UI and Redoc."""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Tag
from litestar.plugins import InitPluginProtocol

DESCRIPTION = """\
Register customers, score their credit from loan history, check whether a new loan is
affordable and at what rate, book it, and load the lender's existing book from Excel.

Amounts are rupees (JSON numbers, exact to the paisa); `interest_rate` is a yearly percentage;
`tenure` counts monthly installments. Every error is JSON:
`{"status_code": 4xx, "detail": "...", "extra": ...}`.
"""


class OpenAPIPlugin(InitPluginProtocol):
    def __init__(self, version: str) -> None:
        self.version = version

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.openapi_config = OpenAPIConfig(
            title="Credit approval API",
            version=self.version,
            description=DESCRIPTION,
            path="/schema",
            use_handler_docstrings=False,
            tags=[
                Tag(name="Customers", description="Registration and profiles."),
                Tag(name="Credit", description="Credit score and eligibility."),
                Tag(name="Loans", description="Booking, viewing and schedules."),
                Tag(name="Ingestion", description="Loading the existing book from Excel."),
            ],
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(), RedocRenderPlugin()],
        )
        return app_config
