"""Driver URLs: ``scheme://path?key=value`` with strictly validated options."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from drivers.base import DriverError


@dataclass(frozen=True)
class DriverURL:
    scheme: str
    path: str
    options: dict[str, str]
    text: str
    fallbacks: dict[str, str] = field(default_factory=dict)
    stream_above_bytes: int | None = None  # a stored session larger than this is read block by block

    def take(self, spec: dict[str, tuple[Callable[[str], Any], Any]], known: tuple[str, ...] = ()) -> dict[str, Any]:
        """Options converted by ``spec`` ({name: (convert, default)}); unknown keys are refused.

        ``fallbacks`` (e.g. --pitch-mm from the command line) fill options this source accepts
        and the URL leaves out, except the ``known`` ones: settings the source knows without
        being told (a plate's sensor size), which only the URL overrides.
        """
        unknown = sorted(set(self.options) - set(spec))
        if unknown:
            valid = "&".join(f"{name}=" for name in spec) or "(none)"
            raise DriverError(
                f"unknown option {', '.join(unknown)} in {self.text}; valid options: {valid}"
            )
        given = {**{k: v for k, v in self.fallbacks.items() if k in spec and k not in known and v is not None},
                 **self.options}
        values = {}
        for name, (convert, default) in spec.items():
            if name not in given:
                values[name] = default
                continue
            raw = str(given[name])
            try:
                values[name] = convert(raw)
            except (TypeError, ValueError) as error:
                raise DriverError(f"option {name}={raw!r} in {self.text}: {error}") from None
        return values


PAIR_SCHEME = "pair://"


def pair_files(text: str) -> list[str]:
    """The LEFT and RIGHT files of a ``pair://LEFT|RIGHT?options`` URL (as written, options left
    off); an empty list for any other source."""
    if not str(text).startswith(PAIR_SCHEME):
        return []
    return [part.partition("?")[0] for part in str(text)[len(PAIR_SCHEME):].split("|")]


def parse_url(text: str | os.PathLike) -> DriverURL:
    """Split a driver URL; a plain path means ``file://``.

    Query values are percent-decoded but a ``+`` stays a plus: ``direction=+x`` means +x. A
    ``pathlib.Path`` is a file whatever its name holds (a ``?`` in it starts no options).
    """
    if isinstance(text, os.PathLike):
        path = os.fsdecode(text)
        return DriverURL("file", path, {}, path)
    if "://" not in text:
        path, _, query = text.partition("?")
        return DriverURL("file", path, _query(query, text), text)
    parts = urlsplit(text)
    return DriverURL(parts.scheme.lower(), unquote(parts.netloc + parts.path), _query(parts.query, text), text)


def _query(query: str, text: str) -> dict[str, str]:
    options = {}
    for item in filter(None, query.split("&")):
        key, separator, value = item.partition("=")
        if not separator or not key:
            raise DriverError(f"malformed option {item!r} in {text}; expected key=value")
        options[unquote(key)] = unquote(value)
    return options


def choice(*allowed: str) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return raw

    return convert


def positive(convert: Callable[[str], float]) -> Callable[[str], float]:
    def checked(raw: str):
        value = convert(raw)
        if not value > 0:
            raise ValueError("expected a positive number")
        return value

    return checked


def non_negative(convert: Callable[[str], float]) -> Callable[[str], float]:
    def checked(raw: str):
        value = convert(raw)
        if not value >= 0:
            raise ValueError("expected a number >= 0")
        return value

    return checked


def existing_file(url: DriverURL) -> Path:
    path = Path(url.path).expanduser()
    if not path.exists():
        raise DriverError(f"{path}: no such file")
    if path.is_dir():
        raise DriverError(f"{path}: is a folder, not a session file")
    return path
