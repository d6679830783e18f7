"""A submitted form read as the API reads its JSON body: the same request Struct, the same
constraints, and the API's message for the field at fault, shown beside that field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")
FIELD_AT = re.compile(r" - at `\$\.([A-Za-z_]+)")


class FormErrors(Exception):
    """The form's fields at fault, each with its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(next(iter(errors.values()), "The form is not valid."))
        self.errors = errors


def read_form(form: Mapping[str, Any], into: type[T], fields: tuple[str, ...]) -> T:
    """The named fields of the form (blank ones left out, so a missing one says so) as `into`;
    FormErrors naming the field when a value is missing, mistyped or out of range."""
    values = {name: form[name].strip() for name in fields if str(form.get(name, "")).strip()}
    try:
        return msgspec.convert(values, into, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        found = FIELD_AT.search(message)
        if found is None:
            missing = re.search(r"missing required field `([A-Za-z_]+)`", message)
            name = missing.group(1) if missing else fields[0]
            raise FormErrors({name: "This field is required."}) from exc
        raise FormErrors({found.group(1): FIELD_AT.split(message)[0]}) from exc


def idempotency_key(form: Mapping[str, Any]) -> str | None:
    """The key a write form carries (generated into it when drawn), as the API's header takes
    it: at most 255 characters; none when the form has none."""
    return str(form.get("idempotency_key") or "").strip()[:255] or None
