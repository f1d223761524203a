"""What every command needs: the settings in force and the database opened from them."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from jirga.errors import ConfigError, ConfigProblem
from jirga.settings import Settings, env_name, load_settings
from storage.facade import Storage


def settings_from(ctx: click.Context) -> Settings:
    """The settings, with a bad value reported as a config error naming the variable."""
    env_file: Path | None = (ctx.find_root().obj or {}).get("env_file")
    try:
        if env_file is not None:
            return load_settings(_env_file=env_file)
        return load_settings()
    except ValidationError as exc:
        raise ConfigError(
            [
                ConfigProblem(
                    file=str(env_file or "environment"),
                    place=env_name(str(err["loc"][0])) if err["loc"] else "settings",
                    reason=err["msg"],
                )
                for err in exc.errors()
            ]
        ) from exc


def open_storage(
    settings: Settings, *, migrated: bool = True, create_empty_sqlite: bool = False
) -> Storage:
    """The database of the settings; by default it must already be at the current schema.

    With ``create_empty_sqlite``, an empty SQLite database (the embedded default on a fresh
    clone) gets the schema created on the spot; a server database is never migrated implicitly.
    """
    store = Storage(settings.effective_database_url)
    try:
        if create_empty_sqlite and store.dialect == "sqlite" and store.current_revision() is None:
            store.upgrade()
            click.echo(f"created the schema in {store.describe()}", err=True)
        if migrated:
            store.require_current_schema()
    except Exception:
        store.close()
        raise
    return store
