"""``jirga config``: show the settings in force and check the config files."""

from __future__ import annotations

from typing import Any

import click
from pydantic import SecretStr

from flows.context import settings_from
from flows.output import echo_rows, format_option
from jirga.config import check_config, load_watchlist
from jirga.errors import ConfigError
from jirga.settings import Settings, env_name

MASK = "********"


def settings_rows(settings: Settings) -> list[dict[str, Any]]:
    """One row per setting: variable, effective value (secrets masked), default and help."""
    rows = []
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = MASK if value.get_secret_value() else ""
        elif name == "database_url":
            value = _mask_url(settings.effective_database_url)
        rows.append({"setting": env_name(name), "value": value, "help": field.description or ""})
    return rows


def _mask_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.group()
def config() -> None:
    """Show the settings and check the config files."""


@config.command()
@format_option
@click.pass_context
def show(ctx: click.Context, fmt: str) -> None:
    """Print every setting's effective value, with secrets masked."""
    echo_rows(settings_rows(settings_from(ctx)), ["setting", "value", "help"], fmt)


@config.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the settings and every config file; exit 1 naming each problem."""
    settings = settings_from(ctx)
    problems = check_config(settings.config_dir)
    if problems:
        raise ConfigError(problems)
    watchlist = load_watchlist(settings.config_dir)
    enabled = sum(1 for f in watchlist.feeds if f.enabled)
    click.echo(
        f"{settings.config_dir}: ok — {len(watchlist.feeds)} feeds ({enabled} enabled), "
        f"{len(watchlist.terms)} watch terms, {len(watchlist.narratives)} tracked narratives"
    )
