"""The one settings object. Nothing else in the service reads the environment.

Every field has a development default, so a fresh clone runs with no configuration;
`Settings.from_env()` reads the ``AMU_*`` variables and ``DATABASE_URL``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

IdentityProviderName = Literal["development"]
KeyStoreName = Literal["file", "memory"]
_T = TypeVar("_T", bound=str)


@dataclass(frozen=True, slots=True)
class Settings:
    """Configuration of one service process."""

    # None means: start the embedded PostgreSQL (pgserver) under data_dir/pg.
    database_url: str | None = None
    # A schema to keep all tables in (tests give each test a fresh one); None = public.
    database_schema: str | None = None
    database_pool_size: int = 10
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    # The transparency log's origin line and checkpoint key name (C2SP checkpoint).
    log_origin: str = "amu-bevis.local/register"
    identity_provider: IdentityProviderName = "development"
    key_store: KeyStoreName = "file"
    # Signs the development identity provider's tokens; random per process unless set.
    session_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    debug: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from environment variables; unset ones keep their defaults."""
        env = os.environ if environ is None else environ
        defaults = cls()
        secret = env.get("AMU_SESSION_SECRET")
        host = env.get("AMU_HOST", defaults.host)
        port = int(env.get("AMU_PORT", defaults.port))
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            database_schema=env.get("AMU_DATABASE_SCHEMA") or None,
            database_pool_size=int(env.get("AMU_DATABASE_POOL_SIZE", defaults.database_pool_size)),
            data_dir=Path(env.get("AMU_DATA_DIR", str(defaults.data_dir))),
            host=host,
            port=port,
            public_base_url=env.get("AMU_PUBLIC_BASE_URL", f"http://{host}:{port}"),
            log_origin=env.get("AMU_LOG_ORIGIN", defaults.log_origin),
            identity_provider=_choice(env, "AMU_IDENTITY_PROVIDER", ("development",)),
            key_store=_choice(env, "AMU_KEY_STORE", ("file", "memory")),
            session_secret=secret.encode() if secret else defaults.session_secret,
            debug=env.get("AMU_DEBUG", "") == "1",
        )


def _choice(env: Mapping[str, str], name: str, allowed: tuple[_T, ...]) -> _T:
    value = env.get(name, allowed[0])
    for option in allowed:
        if value == option:
            return option
    raise ValueError(f"{name} must be one of {', '.join(allowed)}")
