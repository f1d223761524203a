"""Every setting jirga has, in one declarative table.

Each field is a row: its name (``JIRGA_<NAME>`` in the environment or a ``.env`` file), its default
and its help text. Secrets are held as ``SecretStr`` and read from the process environment only,
never from ``.env`` files, so they do not end up in a file that gets copied or committed.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "JIRGA_"
_CHECKOUT_CONFIG = Path(__file__).resolve().parent.parent / "config"
_PACKAGED_CONFIG = Path(__file__).resolve().parent / "default_config"


def default_config_dir() -> Path:
    """The shipped ``config/``: the checkout's folder, or the copy inside an installed wheel."""
    return _CHECKOUT_CONFIG if _CHECKOUT_CONFIG.is_dir() else _PACKAGED_CONFIG


class _SecretlessDotEnv(DotEnvSettingsSource):
    """A ``.env`` source that ignores secret fields: secrets come from the environment only."""

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        return {k: v for k, v in values.items() if k not in SECRET_FIELDS}


class Settings(BaseSettings):
    """jirga's settings. Read with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", validate_default=True
    )

    # --- where things live -------------------------------------------------------------------
    data_dir: Path = Field(
        Path("data"),
        description="Folder for the SQLite database, the outbox and Prefect's home.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy database URL; default: a SQLite file `jirga.db` in the data dir. "
        "PostgreSQL: `postgresql+psycopg://user@host/db`.",
    )
    config_dir: Path = Field(
        default_factory=default_config_dir,
        description="Folder holding feeds.toml, watchlist.toml and narratives.toml.",
    )

    # --- time and digest ---------------------------------------------------------------------
    timezone: str = Field(
        "Asia/Karachi", description="IANA time zone of the digest's local day and schedule."
    )
    digest_time: dt.time = Field(
        dt.time(7, 0), description="Local time (HH:MM) at which the daily digest is due."
    )
    digest_recipients: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated email addresses of the digest; none: outbox only.",
    )

    # --- mail ---------------------------------------------------------------------------------
    smtp_host: str | None = Field(
        None, description="SMTP server; unset: digests are written to the outbox folder."
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    smtp_user: str | None = Field(None, description="SMTP login name; unset: no login.")
    smtp_password: SecretStr | None = Field(
        None, description="SMTP password. Secret: read from the environment only, never `.env`."
    )
    smtp_tls: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="`starttls` (upgrade on port 587), `tls` (implicit, port 465) or `none`.",
    )
    smtp_from: str = Field(
        "jirga <jirga@localhost>", description="From address of the digest email."
    )

    # --- fetching -----------------------------------------------------------------------------
    contact: str = Field(
        "", description="Contact (URL or email) put in the User-Agent so publishers can reach you."
    )
    allow_private_networks: bool = Field(
        False,
        description="Allow fetching from loopback and private addresses (tests, intranet feeds).",
    )

    @field_validator("digest_recipients", mode="before")
    @classmethod
    def _split_recipients(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _SecretlessDotEnv(settings_cls))

    # --- derived values -----------------------------------------------------------------------
    @property
    def effective_database_url(self) -> str:
        """The database URL in force: the setting, or the SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'jirga.db').as_posix()}"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The local time zone as an object."""
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def outbox_dir(self) -> Path:
        """Where digests go when no SMTP server is set."""
        return self.data_dir / "outbox"


SECRET_FIELDS = frozenset(
    name for name, f in Settings.model_fields.items() if f.annotation == SecretStr | None
)


def env_name(field_name: str) -> str:
    """The environment variable of a setting."""
    return ENV_PREFIX + field_name.upper()


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and ``.env``, with explicit overrides on top."""
    return Settings(**overrides)
