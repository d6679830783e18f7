"""Money on the wire: a `Decimal` goes out as a JSON number, exactly, with no float between.

msgspec writes a `Decimal` as a JSON string unless its encoder is told `decimal_format=
"number"`, and Litestar's own encoder is not; Litestar's `Decimal` type encoder (a float) is
never reached, since msgspec handles the type itself. So the app's responses render JSON with
an encoder of their own (`ExactResponse`, also used by handlers that build their response),
and the OpenAPI document says `number` for every `Decimal` (Litestar would say `string`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from litestar import Response
from litestar.config.app import AppConfig
from litestar.exceptions import SerializationException
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.plugins import InitPluginProtocol, OpenAPISchemaPlugin
from litestar.serialization import default_serializer
from litestar.typing import FieldDefinition

_encoder = msgspec.json.Encoder(enc_hook=default_serializer, decimal_format="number")
JSON = "application/json"


T = TypeVar("T")


class ExactResponse(Response[T]):
    """Litestar's response, its JSON written by an encoder that keeps `Decimal`s exact."""

    def render(
        self,
        content: Any,
        media_type: str,
        enc_hook: Callable[[Any], Any] = default_serializer,
    ) -> bytes:
        if media_type != JSON or isinstance(content, bytes | str):
            return super().render(content, media_type, enc_hook)
        try:
            if enc_hook is default_serializer:
                return _encoder.encode(content)
            return msgspec.json.Encoder(enc_hook=enc_hook, decimal_format="number").encode(content)
        except (TypeError, msgspec.EncodeError) as exc:
            raise SerializationException(str(exc)) from exc


def exact_json(content: Any) -> bytes:
    """`content` as the API writes it (Decimals as numbers)."""
    return _encoder.encode(content)


class MoneyPlugin(InitPluginProtocol, OpenAPISchemaPlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.response_class = ExactResponse
        return app_config

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is Decimal

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        return Schema(type=OpenAPIType.NUMBER)
