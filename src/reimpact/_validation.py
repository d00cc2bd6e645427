"""One place for how configuration files (study files, scoring schemes) are validated and how a
validation failure becomes a one-line message that names the field."""

from __future__ import annotations

import difflib
import reprlib
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator


class Section(BaseModel):
    """A strict, frozen section of the study file that names unknown keys and suggests the right one."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # keys of earlier versions: old key -> what to write instead
    renamed: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _unknown_keys(cls, values: Any) -> Any:
        if isinstance(values, dict):
            valid = list(cls.model_fields)
            for key in values:
                if key in cls.renamed:
                    raise ValueError(f"'{key}' was renamed: {cls.renamed[key]}")
                if key not in valid:
                    close = difflib.get_close_matches(str(key), valid, n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    raise ValueError(f"unknown key '{key}'{hint}; valid keys: {', '.join(valid)}")
        elif values is not None and not isinstance(values, BaseModel):
            raise ValueError(f"must be a mapping of keys to values, got {show(values)}")
        return values


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxdict = _SHORT.maxtuple = _SHORT.maxset = 4
_SHORT.maxlevel = 2


def show(value: Any) -> str:
    """A short repr for messages, built without printing the whole value first (a huge or
    deeply nested value would take long to print)."""
    text = _SHORT.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def location(exc: ValidationError) -> str:
    error = exc.errors()[0]
    parts = [str(p) for p in error["loc"] if not _is_type_tag(p)]
    return ".".join(parts) if parts else "(top level)"


def _is_type_tag(part: Any) -> bool:
    # pydantic adds union member tags such as 'list[union[str,int]]' or 'function-after[...]'
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool"})


def first_message(exc: ValidationError) -> str:
    errors = exc.errors()
    error = errors[0]
    kind = error["type"]
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind == "missing":
        message = "is required"
    elif kind not in {"value_error", "assertion_error"} and "input" in error:
        message = f"{message[0].lower()}{message[1:]} (got {show(error['input'])})"
    more = len(errors) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return message


def value_key(value: Any) -> str:
    """Normalise a value from a data file or a config file so that 1, 1.0 and '1', or 'Yes' and
    ' yes', compare equal (YAML reads unquoted yes/no as true/false: quote them)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, np.integer)):
        return str(int(value))  # exact, however large
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value).strip().lower()


def default_or_off(value: Any) -> Any:
    """An optional section: ``key:`` (null) or ``key: {}`` means "with defaults", ``key: false``
    turns it off (None)."""
    if value is None:
        return {}
    if value is False:
        return None
    return value
