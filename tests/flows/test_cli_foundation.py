"""The CLI's foundation commands, run as a user runs them: config, db and the feed list."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.cli import cli
from jirga.settings import Settings, env_name
from storage import migrate

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A clean environment: no JIRGA_* from outside, data in tmp, a copy of the shipped config."""
    for key in list(os.environ):
        if key.startswith("JIRGA_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    values = {"JIRGA_DATA_DIR": str(tmp_path / "data"), "JIRGA_CONFIG_DIR": str(config)}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_console_script_lists_the_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    for command in ("config", "db", "feeds", "poll", "import"):
        assert re.search(rf"^\s+{command}\s", out, re.M), command


def test_config_check_passes_on_the_shipped_config(env: dict[str, str]) -> None:
    code, out, err = run("config", "check")
    assert code == 0, err
    assert "ok" in out and "feeds" in out


BROKEN = [
    ("feeds.toml", 'name = "Dawn"', 'name = "Dawn', "feeds.toml", "TOML"),
    (
        "feeds.toml",
        'url = "https://www.dawn.com/feeds/home"',
        'url = "ftp://dawn"',
        "feeds.toml",
        "URL",
    ),
    ("feeds.toml", 'language = "ur"', 'language = "urdu"', "feeds.toml", "language"),
    ("feeds.toml", 'id = "express-tribune"', 'id = "dawn"', "feeds.toml", "duplicate"),
    ("watchlist.toml", 'text = "TTP"', 'text = ""', "watchlist.toml", "empty"),
    (
        "narratives.toml",
        'terms = ["ttp"',
        'terms = ["nosuchterm"',
        "narratives.toml",
        "unknown term",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "named", "word"), BROKEN)
def test_config_check_names_file_line_and_reason(
    env: dict[str, str], file: str, old: str, new: str, named: str, word: str
) -> None:
    path = Path(env["JIRGA_CONFIG_DIR"]) / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture out of date: {old!r} not in {file}"
    broken = text.replace(old, new, 1)
    path.write_text(broken, encoding="utf-8")
    line = broken[: broken.index(new)].count("\n") + 1
    code, _out, err = run("config", "check")
    assert code == 1
    assert "Traceback" not in err
    problems = [p for p in err.splitlines() if p.startswith("error: ")]
    assert problems, err
    hit = [p for p in problems if named in p and word.lower() in p.lower()]
    assert hit, err
    assert any(f"line {line}" in p for p in hit), (line, err)


def test_bad_setting_names_the_variable(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIRGA_SMTP_PORT", "not-a-port")
    code, _out, err = run("config", "show")
    assert code == 1
    assert "JIRGA_SMTP_PORT" in err and "Traceback" not in err


def test_config_show_masks_secrets(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    sentinel = "s3ntinel-pass-XYZ"
    monkeypatch.setenv("JIRGA_SMTP_PASSWORD", sentinel)
    monkeypatch.setenv("JIRGA_DATABASE_URL", f"postgresql+psycopg://u:{sentinel}@db/x")
    for fmt in ("table", "json", "csv"):
        code, out, _ = run("config", "show", "--format", fmt)
        assert code == 0
        assert sentinel not in out
        assert "JIRGA_SMTP_PASSWORD" in out and "***" in out


def test_secrets_are_not_read_from_dotenv(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("JIRGA_SMTP_PASSWORD=from-file\nJIRGA_SMTP_PORT=2525\n")
    settings = Settings()
    assert settings.smtp_port == 2525
    assert settings.smtp_password is None


def test_db_upgrade_creates_then_is_a_noop(env: dict[str, str]) -> None:
    code, out, err = run("db", "upgrade")
    assert code == 0, err
    assert f"-> {migrate.head_revision()}" in out
    assert (Path(env["JIRGA_DATA_DIR"]) / "jirga.db").exists()
    code, out, _ = run("db", "upgrade")
    assert code == 0 and "already at" in out
    code, out, _ = run("db", "current")
    assert "current" in out


def test_db_upgrade_on_postgresql(
    env: dict[str, str], postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIRGA_DATABASE_URL", postgres_url)
    code, out, err = run("db", "upgrade")
    assert code == 0, err
    assert migrate.head_revision() in out
    code, out, _ = run("db", "upgrade")
    assert "already at" in out


def test_commands_refuse_an_unmigrated_database(env: dict[str, str]) -> None:
    code, _out, err = run("feeds", "status")
    assert code == 1
    assert "jirga db upgrade" in err


def test_feeds_export_then_import_round_trip(env: dict[str, str], tmp_path: Path) -> None:
    code, opml, _ = run("feeds", "export")
    assert code == 0 and opml.startswith("<?xml")
    code, out, _ = run("feeds", "import", "--dry-run", _write(tmp_path / "all.opml", opml))
    assert code == 0 and "would add 0 feeds" in out
    new = (
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        '<outline text="Example News" type="rss" xmlUrl="https://news.example.org/rss" '
        'language="ur"/></body></opml>'
    )
    code, out, err = run("feeds", "import", _write(tmp_path / "new.opml", new))
    assert code == 0, err
    assert "added 1 feeds" in out
    feeds_toml = (Path(env["JIRGA_CONFIG_DIR"]) / "feeds.toml").read_text(encoding="utf-8")
    assert "https://news.example.org/rss" in feeds_toml
    assert "# confidence" in feeds_toml  # the existing comments survived
    code, _out, err = run("config", "check")
    assert code == 0, err


def test_import_of_a_hostile_opml_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<opml version="2.0"><body><outline text="&b;" xmlUrl="https://x.example/rss"/></body></opml>'
    )
    before = (Path(env["JIRGA_CONFIG_DIR"]) / "feeds.toml").read_bytes()
    code, _out, err = run("feeds", "import", "--language", "en", _write(tmp_path / "b.opml", bomb))
    assert code == 1 and "Traceback" not in err
    assert (Path(env["JIRGA_CONFIG_DIR"]) / "feeds.toml").read_bytes() == before


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [env_name(n) for n in Settings.model_fields if f"`{env_name(n)}`" not in readme]
    assert missing == []


def test_every_command_is_documented_in_the_readme() -> None:
    import click

    readme = (ROOT / "README.md").read_text(encoding="utf-8")

    ctx = click.Context(cli)

    def names(group: click.Group, prefix: str) -> list[str]:
        out = []
        for name in group.list_commands(ctx):  # the loaded and the lazily loaded ones
            command = group.get_command(ctx, name)
            if isinstance(command, click.Group):
                out += names(command, f"{prefix}{name} ")
            else:
                out.append(f"{prefix}{name}")
        return out

    every = names(cli, "jirga ")
    assert {"jirga poll", "jirga import", "jirga db reindex", "jirga serve"} <= set(every)
    missing = [n for n in every if n not in readme]
    assert missing == []


def test_the_command_group_imports_a_command_only_when_it_runs() -> None:
    # The parser workers' fork server imports what the running script imported (for the
    # ``jirga`` command: flows.cli) before it starts the first worker of a poll; with storage,
    # Prefect or the pipeline in there, every poll waited about a second longer for its workers.
    code = (
        "import sys, flows.cli; "
        "print(sorted(m for m in ('sqlalchemy', 'prefect', 'numpy', 'storage', 'jirga.pipeline')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
