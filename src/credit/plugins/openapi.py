"""OpenAPI at /schema with Scalar (default), Swagger UI and Redoc, all served from here.

- The pages' assets come from the service itself (`/schema/assets/...`), out of the pinned
  `star-openapi-swagger`, `-redoc` and `-scalar` wheels, so the docs work on a network that
  cannot reach a CDN (docs/decisions.md says why these packages).
- The document is finished once at start-up: 64-bit id maxima are written as the integer
  they are (Litestar writes every bound as a float: 9.223372036854776e+18), 401 and 429
  answers document the headers they carry, the ids operations answer with are linked to
  the operations that take them (OpenAPI links), and a body that refuses unknown fields says
  so (`additionalProperties: false`).
- Unknown paths under /schema answer a JSON 404 like everywhere else (Litestar's is HTML).
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import msgspec
from litestar import Litestar, MediaType, Request, Response, Router
from litestar.config.app import AppConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Link, OpenAPIHeader, OpenAPIResponse, Reference, Schema, Tag
from litestar.openapi.spec.enums import OpenAPIType
from litestar.plugins import InitPluginProtocol
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_404_NOT_FOUND

from credit.ids import MAX_ID

DESCRIPTION = """\
Register customers, score their credit from loan history, check whether a new loan is
affordable and at what rate, book it, and load the lender's existing book from Excel.

Amounts are rupees (JSON numbers, exact to the paisa); `interest_rate` is a yearly percentage;
`tenure` counts monthly installments. Every error is JSON:
`{"status_code": 4xx, "detail": "...", "extra": ...}`.
"""

ASSETS = "/schema/assets"
# Where each wheel keeps the upstream distribution files (package, folder inside it).
ASSET_SOURCES = {
    "swagger": ("star_openapi_swagger", "templates/swagger"),
    "redoc": ("star_openapi_redoc", "templates/redoc"),
    "scalar": ("star_openapi_scalar", "templates/scalar"),
}
ICON = f"<link rel='icon' type='image/svg+xml' href='{ASSETS}/scalar/images/scalar.svg'>"
# Scalar's bundle carries its own styles; Litestar would otherwise link a theme from a CDN.
NO_STYLESHEET = "data:text/css,"

WWW_AUTHENTICATE = 'ApiKey realm="credit", header="X-API-Key"'
RESPONSE_HEADERS = {
    "401": {
        "WWW-Authenticate": OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING, examples=[WWW_AUTHENTICATE]),
            description="How to authenticate: an API key in the `X-API-Key` header.",
            required=True,
        )
    },
    "429": {
        "Retry-After": OpenAPIHeader(
            schema=Schema(type=OpenAPIType.INTEGER, examples=[1]),
            description="Seconds until a request may succeed again.",
            required=True,
        )
    },
}


# OpenAPI links: where the id an operation answers with can be used next (clients and the
# stateful fuzzing follow them).
CUSTOMER_ID = {"customer_id": "$response.body#/customer_id"}
LOAN_ID = {"loan_id": "$response.body#/loan_id"}
LINKS: dict[tuple[str, str], dict[str, Link]] = {
    ("registerCustomer", "201"): {
        "profile": Link(operation_id="getCustomer", parameters=CUSTOMER_ID),
        "creditScore": Link(operation_id="getCreditScore", parameters=CUSTOMER_ID),
        "currentLoans": Link(operation_id="viewCustomerLoans", parameters=CUSTOMER_ID),
    },
    ("createLoan", "201"): {
        "loan": Link(operation_id="viewLoan", parameters=LOAN_ID),
        "schedule": Link(operation_id="loanSchedule", parameters=LOAN_ID),
        "currentLoans": Link(operation_id="viewCustomerLoans", parameters=CUSTOMER_ID),
    },
    ("startIngestion", "202"): {
        "status": Link(
            operation_id="getIngestion", parameters={"job_id": "$response.body#/job_id"}
        ),
    },
}


def asset_directory(name: str) -> Any:
    package, folder = ASSET_SOURCES[name]
    return files(package).joinpath(folder)


def render_plugins() -> list[Any]:
    return [
        ScalarRenderPlugin(
            js_url=f"{ASSETS}/scalar/js/scalar.standalone.js",
            css_url=NO_STYLESHEET,
            favicon=ICON,
            # A dozen operations: list them all, rather than only the first tag's.
            options={"defaultOpenAllTags": True},
        ),
        SwaggerRenderPlugin(
            js_url=f"{ASSETS}/swagger/js/swagger-ui-bundle.js",
            css_url=f"{ASSETS}/swagger/css/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS}/swagger/js/swagger-ui-standalone-preset.js",
            favicon=ICON,
        ),
        RedocRenderPlugin(
            js_url=f"{ASSETS}/redoc/js/redoc.standalone.js", google_fonts=False, favicon=ICON
        ),
    ]


def _not_found() -> Response[Any]:
    return Response(
        {"status_code": 404, "detail": "Not Found"},
        status_code=HTTP_404_NOT_FOUND,
        media_type=MediaType.JSON,
    )


def json_not_found(response: Response[Any]) -> Response[Any]:
    """`after_request` of the /schema router: its HTML 404 page becomes the usual JSON."""
    if response.status_code == HTTP_404_NOT_FOUND and response.media_type == MediaType.HTML:
        return _not_found()
    return response


def not_found_as_json(_: Request[Any, Any, Any], __: Exception) -> Response[Any]:
    """The 404 the router raises for unknown `.json`/`.yaml` paths, as JSON (not HTML)."""
    return _not_found()


def _integer_bounds(schema: Any) -> None:
    if isinstance(schema, Schema):
        if schema.maximum == float(MAX_ID):
            schema.maximum = MAX_ID
        for part in (
            *(schema.properties or {}).values(),
            *(schema.one_of or []),
            *(schema.any_of or []),
            *(schema.all_of or []),
        ):
            _integer_bounds(part)
        if isinstance(schema.items, Schema):
            _integer_bounds(schema.items)


def _not_null(parameter: Any) -> None:
    """An optional query parameter is absent or a value, never JSON's null (`?name=null` is the
    string "null"): the null branch Litestar writes for `str | None` goes."""
    schema = parameter.schema
    if parameter.param_in != "query" or not isinstance(schema, Schema) or not schema.one_of:
        return
    kept = [
        part
        for part in schema.one_of
        if not (isinstance(part, Schema) and part.type == OpenAPIType.NULL)
    ]
    if len(kept) == 1 and isinstance(kept[0], Schema) and len(kept) < len(schema.one_of):
        schema.one_of = None
        schema.type = kept[0].type


def _closed_structs() -> set[str]:
    """The names of the request Structs that refuse unknown fields (`forbid_unknown_fields`):
    their schemas say so (`additionalProperties: false`), which Litestar's does not."""
    names: set[str] = set()
    pending = list(msgspec.Struct.__subclasses__())
    while pending:
        struct = pending.pop()
        pending.extend(struct.__subclasses__())
        if struct.__struct_config__.forbid_unknown_fields:
            names.add(struct.__name__)
    return names


def finish_document(app: Litestar) -> None:
    """`on_startup`: the corrections Litestar's generator cannot be told to make."""
    document = app.openapi_schema
    if document.components and document.components.schemas:
        closed = _closed_structs()
        for name, schema in document.components.schemas.items():
            _integer_bounds(schema)
            if name in closed:
                schema.additional_properties = False
    for path_item in (document.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(path_item, method, None)
            if operation is None:
                continue
            for parameter in operation.parameters or []:
                if not isinstance(parameter, Reference):
                    _integer_bounds(parameter.schema)
                    _not_null(parameter)
            for code, response in (operation.responses or {}).items():
                if not isinstance(response, OpenAPIResponse):
                    continue
                if code in RESPONSE_HEADERS:
                    response.headers = {**(response.headers or {}), **RESPONSE_HEADERS[code]}
                if links := LINKS.get((operation.operation_id or "", code)):
                    response.links = {**(response.links or {}), **links}


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
                Tag(
                    name="Customers",
                    description="Registration, profiles, finding and changing customers.",
                ),
                Tag(name="Credit", description="Credit score and eligibility."),
                Tag(name="Loans", description="Booking, viewing and schedules."),
                Tag(name="Ingestion", description="Loading the existing book from Excel."),
            ],
            render_plugins=render_plugins(),
            openapi_router=Router(
                "/schema",
                route_handlers=[],
                include_in_schema=False,
                after_request=json_not_found,
                exception_handlers={HTTP_404_NOT_FOUND: not_found_as_json},
            ),
        )
        for name in ASSET_SOURCES:
            app_config.route_handlers.append(
                create_static_files_router(
                    path=f"{ASSETS}/{name}",
                    directories=[asset_directory(name)],
                    include_in_schema=False,
                    name=f"docs-assets-{name}",
                )
            )
        app_config.on_startup.append(finish_document)
        return app_config
