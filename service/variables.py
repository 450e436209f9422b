"""Environment variables read and checked, one problem collected per bad variable.

`service.settings.Settings.from_env` reads every variable through one `VariableReader`; a bad
value reads as the setting's default, and at the end `raise_problems` raises one
`SettingsError` naming them all::

    r = VariableReader(env)
    port = r.integer("AMU_PORT", 8000, minimum=1, maximum=65535)
    url = r.database_url("DATABASE_URL")
    r.raise_problems()          # SettingsError: AMU_PORT must be a whole number from 1 to ...
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from registry.db import schema_settings

_T = TypeVar("_T", bound=str)


class SettingsError(ValueError):
    """One or more environment variables have values the service cannot use. ``problems`` has
    one message per bad variable, each naming it; no message quotes a secret's value."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(problems))


# A host to listen on: an IP address or a DNS name.
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
# Values longer than this are cut in messages: a long value is more likely a pasted secret.
_SHOWN = 40


class VariableReader:
    """Reads and checks variables of ``env``, collecting a problem per bad one instead of
    stopping at the first. A bad value reads as the setting's default; `raise_problems` then
    raises them all. Messages quote only values that cannot be secrets (numbers, choices,
    switches), never a URL (it may carry a password), a path or free text."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def raise_problems(self) -> None:
        if self.problems:
            raise SettingsError(self.problems)

    def text(self, name: str, default: str) -> str:
        """The value as it is, or ``default`` when unset."""
        return self.env.get(name, default)

    def flag(self, name: str, *, default: bool) -> bool:
        """``1`` on, ``0`` off; unset or empty: ``default``."""
        value = self.env.get(name, "")
        if value in {"0", "1"}:
            return value == "1"
        if value:
            self.problem(f"{name} must be 1 or 0 (got {_show(value)})")
        return default

    def integer(self, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        """A whole number from ``minimum`` (to ``maximum``); unset or empty: ``default``."""
        value = self.env.get(name, "")
        if not value:
            return default
        try:
            number = int(value)
        except ValueError:
            number = minimum - 1
        if number >= minimum and (maximum is None or number <= maximum):
            return number
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
        self.problem(f"{name} must be a whole number {bounds} (got {_show(value)})")
        return default

    def seconds(self, name: str, default: float) -> float:
        """A number of seconds greater than 0, fractions allowed; unset or empty: ``default``."""
        value = self.env.get(name, "")
        if not value:
            return default
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number) and number > 0:
            return number
        self.problem(f"{name} must be a number of seconds greater than 0 (got {_show(value)})")
        return default

    def choice(self, name: str, allowed: tuple[_T, ...]) -> _T:
        """One of ``allowed``; unset: the first."""
        value = self.env.get(name, allowed[0])
        for option in allowed:
            if value == option:
                return option
        self.problem(f"{name} must be one of {', '.join(allowed)} (got {_show(value)})")
        return allowed[0]

    def url(self, name: str, default: str) -> str:
        """An http or https URL with a host; unset or empty: ``default``."""
        value = self.env.get(name, "")
        if not value:
            return default
        if _url_scheme(value) not in {"http", "https"}:
            self.problem(f"{name} must be an http or https URL with a host name")
            return default
        return value

    def database_url(self, name: str) -> str | None:
        """A ``postgresql://`` URL (or ``postgres://``); unset or empty: None."""
        value = self.env.get(name, "")
        if not value:
            return None
        if _url_scheme(value, host_needed=False) not in {"postgresql", "postgres"}:
            self.problem(
                f"{name} must be a postgresql:// URL (its value is not shown: it may carry a "
                "password)"
            )
            return None
        return value

    def schema(self, name: str) -> str | None:
        value = self.env.get(name, "")
        if not value:
            return None
        try:
            schema_settings(value)
        except ValueError as e:
            self.problem(f"{name}: {e}")
            return None
        return value

    def host(self, name: str, default: str) -> str:
        value = self.env.get(name, "")
        if not value:
            return default
        if not _HOST.match(value):
            try:
                ipaddress.ip_address(value)
            except ValueError:
                self.problem(f"{name} must be an IP address or a host name to listen on")
                return default
        return value

    def log_origin(self, name: str, default: str) -> str:
        """A C2SP checkpoint origin: no spaces, no ``+``."""
        value = self.env.get(name, "")
        if not value:
            return default
        if any(c.isspace() or c == "+" for c in value):
            self.problem(
                f"{name} must be the log's name without spaces or + (a C2SP checkpoint origin, "
                "such as amu-bevis.example.dk/register)"
            )
            return default
        return value

    def file(self, name: str) -> Path | None:
        """A file's path; whether it must exist is the start's to say (service.startup_checks),
        but a folder is never one."""
        value = self.env.get(name, "")
        if not value:
            return None
        path = Path(value)
        if path.is_dir():
            self.problem(f"{name} names a folder; it must name a file")
            return None
        return path

    def folder(self, name: str) -> Path | None:
        """A folder's path: it need not exist yet (it is made), but it must not be a file."""
        value = self.env.get(name, "")
        if not value:
            return None
        path = Path(value)
        if path.exists() and not path.is_dir():
            self.problem(f"{name} names a file; it must name a folder")
            return None
        return path

    def networks(self, name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """Comma-separated addresses or networks (``10.0.0.7, 2001:db8::/32``)."""
        found = []
        for part in self.env.get(name, "").split(","):
            if not part.strip():
                continue
            try:
                found.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError as e:
                self.problem(f"{name}: {e}")
        return tuple(found)


def _url_scheme(value: str, *, host_needed: bool = True) -> str | None:
    """The scheme of ``value`` if it parses as a URL (with a host, if ``host_needed``)."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _ = parts.port  # raises ValueError for a port that is no number
    except ValueError:
        return None
    if host_needed and not host:
        return None
    return parts.scheme


def _show(value: str) -> str:
    """``value`` quoted for a message, cut short."""
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "...")
