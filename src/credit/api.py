"""Shared bits of the HTTP layer: id path parameters and documented error responses."""

from __future__ import annotations

from typing import Annotated

from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

MAX_ID = 2**63 - 1

CustomerIdPath = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The customer's id.")]
LoanIdPath = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The loan's id.")]


def error(description: str) -> ResponseSpec:
    """A documented error of Litestar's shape `{"status_code", "detail", "extra"}`."""
    return ResponseSpec(data_container=dict, description=description, generate_examples=False)


BAD_REQUEST = {400: error("The request is malformed or a field is out of range; `extra` names it.")}
NOT_FOUND = {404: error("No such customer or loan.")}
