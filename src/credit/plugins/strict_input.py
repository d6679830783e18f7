"""What the API accepts before a handler runs: JSON bodies, ids in paths, and HEAD.

- A JSON body must come as `application/json` (UTF-8; another content type is 415, another
  charset 400), be valid UTF-8, and decode **strictly** into the handler's `data` type: a
  number sent as a string (`"age": "30"`) is refused, where Litestar's own conversion would
  coerce it (a number without a fraction, `30.0`, is an integer, as in JSON Schema). It is
  decoded once here, and the handler receives that struct.
- Every refusal is a 400 of Litestar's validation shape whose `extra` names the field
  (`key`): a missing field, a wrong type, a literal JSON cannot carry (`NaN`, `1e400`), a
  string holding U+0000 (PostgreSQL cannot store it), and a body nested too deeply to decode.
- An integer id in a path must be plain ASCII digits without a leading zero: Litestar's
  `:int` converter is Python's `int()`, which also reads `01`, `+1`, `1 ` and full-width or
  Arabic-Indic digits. An integer in the query must be digits too, and a date `YYYY-MM-DD`
  (`?after=null` and `?as_of=null` are refused, which Litestar would read as no value).
- HEAD is answered on every GET route as GET without the body.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.config.app import AppConfig
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import BodyKwarg
from litestar.plugins import InitPluginProtocol
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

ASCII_ID = re.compile(r"(0|[1-9][0-9]*)")
# msgspec's messages end with the JSON path of the value: "... - at `$.loan_amount`".
AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
MISSING_FIELD = re.compile(r"missing required field `(?P<field>[^`]+)`")
MALFORMED_AT = re.compile(r"\(byte (?P<offset>\d+)\)")
# The key whose value holds a malformed literal: `"loan_amount": NaN` (or `-Infinity`).
KEY_BEFORE = re.compile(r'"(?P<key>(?:[^"\\]|\\.)*)"\s*:[^",:{}\[\]]*$')


def refuse(request: Request[Any, Any, Any], key: str, message: str, source: str) -> Exception:
    return ValidationException(
        detail=f"Validation failed for {request.method} {request.url.path}",
        extra=[{"message": message, "key": key, "source": source}],
    )


def _json_path_key(path: str) -> str:
    """`.customer.name` or `[0].id` -> `customer.name`, `0.id` (Litestar's `key` format)."""
    return re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".")


def _key_at(text: str, offset: int) -> str:
    match = KEY_BEFORE.search(text[:offset])
    return match.group("key") if match else "body"


def _body_error(request: Request[Any, Any, Any], exc: Exception, text: str) -> Exception:
    message = str(exc)
    if isinstance(exc, RecursionError):
        return refuse(request, "body", "The JSON is nested too deeply.", "body")
    if isinstance(exc, msgspec.ValidationError):
        if missing := MISSING_FIELD.search(message):
            parsed = AT_PATH.match(message)
            prefix = _json_path_key(parsed.group("path") or "") if parsed else ""
            key = f"{prefix}.{missing['field']}" if prefix else missing["field"]
            return refuse(request, key, f"Missing required field `{missing['field']}`.", "body")
        parsed = AT_PATH.match(message)
        assert parsed is not None  # the pattern matches any text
        key = _json_path_key(parsed.group("path") or "") or "body"
        text_message = parsed.group("message")
        if "matching regex" in text_message:
            text_message = (
                "Expected visible text, without control, zero-width or line-break characters."
            )
        return refuse(request, key, text_message, "body")
    # A DecodeError: malformed JSON, or a literal JSON numbers cannot be (NaN, Infinity).
    offset = MALFORMED_AT.search(message)
    key = _key_at(text, int(offset["offset"])) if offset else "body"
    if key != "body":
        message = "Not a valid JSON value (NaN, Infinity and numbers out of range are not)."
    return refuse(request, key, message, "body")


def _nul_field(value: Any, path: str = "") -> str | None:
    """The first string field of a decoded body that holds U+0000, as a key."""
    if isinstance(value, str):
        return path or "body" if "\x00" in value else None
    if isinstance(value, msgspec.Struct):
        items: Any = ((name, getattr(value, name)) for name in value.__struct_fields__)
    elif isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for name, item in items:
        if found := _nul_field(item, f"{path}.{name}" if path else str(name)):
            return found
    return None


def _integral_floats_as_ints(value: Any) -> Any:
    """JSON Schema's `integer` includes `30.0` and `1e5`: numbers with no fraction."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    return value


def decode_strictly(body: bytes, body_type: Any) -> Any:
    """JSON -> `body_type` with no coercion but one: a number without a fraction is an
    integer whatever its spelling (`30.0`, `1e5`), as in JSON Schema. A string is never a
    number and a number never a string."""
    try:
        raw = msgspec.json.decode(body)
    except (RecursionError, msgspec.ValidationError):
        # Too deep to read as a whole, or a number out of range, whose place an untyped
        # decode cannot name: decoding straight into the type stops at the first field that
        # cannot hold what it got (`{"customer_id": [[[...]]]}`, `1e400`), naming it.
        return msgspec.json.decode(body, type=body_type, strict=True)
    return msgspec.convert(_integral_floats_as_ints(raw), body_type, strict=True)


def json_body_type(request: Request[Any, Any, Any]) -> Any | None:
    """The type of the handler's `data` when it is a JSON body, else None."""
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return None
    kwarg = field.kwarg_definition
    if isinstance(kwarg, BodyKwarg) and kwarg.media_type != RequestEncodingType.JSON:
        return None
    return field.annotation


def _check_content_type(request: Request[Any, Any, Any]) -> None:
    media_type, params = request.content_type
    if media_type.lower() != "application/json":
        raise HTTPException(
            status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail="The body must be JSON, sent with `Content-Type: application/json`.",
            extra=[{"message": f"Got {media_type or 'no content type'}.", "key": "Content-Type"}],
        )
    charset = params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise refuse(request, "Content-Type", f"The body must be UTF-8, not {charset}.", "header")


async def decode_json_body(request: Request[Any, Any, Any]) -> None:
    """`before_request`: decode a JSON body strictly into the handler's `data` type."""
    body_type = json_body_type(request)
    if body_type is None:
        return
    _check_content_type(request)
    body = await request.body()
    if not body.strip():
        raise refuse(request, "body", "The body is empty; a JSON object is expected.", "body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(
            request, "body", f"The body is not valid UTF-8 (byte {exc.start}).", "body"
        ) from None
    try:
        data = decode_strictly(body, body_type)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        raise _body_error(request, exc, text) from None
    if nul := _nul_field(data):
        raise refuse(request, nul, "Text may not contain U+0000 (NUL).", "body")
    # What `request.json()` returns from now on, so the handler receives this struct.
    ScopeState.from_scope(request.scope).json = data


async def check_path_ids(request: Request[Any, Any, Any]) -> None:
    """`before_request`: integer path parameters must be written in plain ASCII digits."""
    params = request.path_params
    if not any(isinstance(value, int) for value in params.values()):
        return
    template = request.scope.get("path_template", "")
    for pattern, raw in zip(template.split("/"), request.scope["path"].split("/"), strict=False):
        if not pattern.startswith("{"):
            continue
        name = pattern[1:-1].split(":", 1)[0]
        if isinstance(params.get(name), int) and not ASCII_ID.fullmatch(raw):
            raise refuse(request, name, "Expected an integer in plain digits (1-9 first).", "path")


# What a typed query parameter must look like: Litestar's lenient conversion reads `null` as
# no value at all for an optional one (`?after=null`, `?as_of=null`).
QUERY_FORMS: dict[type, tuple[re.Pattern[str], str]] = {
    int: (re.compile(r"-?[0-9]+"), "Expected an integer in plain digits."),
    date: (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), "Expected a date as YYYY-MM-DD."),
}


def _typed_query_names(request: Request[Any, Any, Any]) -> list[tuple[str, type]]:
    """The handler's integer and date parameters (bare or optional) the query carries."""
    names = []
    for name, field in request.route_handler.parsed_fn_signature.parameters.items():
        if name not in request.query_params or name in request.path_params:
            continue
        types = [inner.annotation for inner in field.inner_types] if field.is_optional else []
        for kind in QUERY_FORMS:
            if field.annotation is kind or kind in types:
                names.append((name, kind))
    return names


async def check_query_forms(request: Request[Any, Any, Any]) -> None:
    """`before_request`: an integer in the query must be digits, a date `YYYY-MM-DD`."""
    for name, kind in _typed_query_names(request):
        form, message = QUERY_FORMS[kind]
        for raw in request.query_params.getall(name):
            if not form.fullmatch(raw):
                raise refuse(request, name, message, "query")


async def check_request(request: Request[Any, Any, Any]) -> None:
    await check_path_ids(request)
    await check_query_forms(request)
    await decode_json_body(request)


def head_as_get(app: ASGIApp) -> ASGIApp:
    """HEAD is GET without the body (RFC 9110), for every GET route."""

    async def handle(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "HEAD":
            await app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The server reads the method to know the body it may send: none.
                scope["method"] = "HEAD"
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # The same scope, not a copy: what the request keeps in it (Advanced Alchemy's session)
        # must be where the app's `before_send` looks for it, to close it as for a GET. It is a
        # HEAD again by the time the response starts, for the server.
        scope["method"] = "GET"
        try:
            await app(scope, receive, send_headers_only)
        finally:
            scope["method"] = "HEAD"

    return handle


class StrictInputPlugin(InitPluginProtocol):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.before_request = check_request
        app_config.on_startup.append(self._answer_head)
        return app_config

    @staticmethod
    def _answer_head(app: Litestar) -> None:
        app.asgi_handler = head_as_get(app.asgi_handler)
