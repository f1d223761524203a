"""The narratives stage end to end on both databases: import → group → list and show."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.importer import Importer
from flows.narratives import run_narratives, update_narratives
from flows.polling import caps
from flows.runopts import RUN_OPTIONS, RunOptions
from jirga.config import load_watchlist
from jirga.settings import Settings
from storage.facade import Storage

ROOT = Path(__file__).resolve().parents[2]
DAY0 = dt.datetime(2026, 2, 10, 6, 0, tzinfo=dt.UTC)

# Two stories that share the crisis vocabulary, told over several days by several outlets, in
# several languages; plus one that goes quiet and comes back.
TALKS = [
    (
        "dawn",
        0,
        "Government forms jirga for talks with the TTP",
        "Islamabad named a jirga of tribal elders to open talks with the TTP in Kabul, officials "
        "said, as the Afghan Taliban offered to host the dialogue with Tehrik-i-Taliban Pakistan.",
    ),
    (
        "express-tribune",
        0,
        "Jirga of elders to lead dialogue with TTP",
        "A jirga of tribal elders will lead the dialogue with the TTP, the interior minister said, "
        "adding that the talks in Kabul would be facilitated by the Afghan Taliban.",
    ),
    (
        "the-news",
        1,
        "TTP talks: jirga reaches Kabul",
        "The jirga of tribal elders reached Kabul for talks with the TTP on Tuesday, with the "
        "Afghan Taliban acting as hosts of the dialogue.",
    ),
    (
        "dawn",
        2,
        "TTP extends ceasefire as talks continue",
        "The TTP extended its ceasefire after the jirga of tribal elders held a second round of "
        "talks in Kabul hosted by the Afghan Taliban.",
    ),
]
AIRPORT = [
    (
        "tolonews-en",
        0,
        "Taliban close Kabul airport road after stampede",
        "The Taliban closed the road to Kabul airport after a stampede at the gates left three "
        "people injured, witnesses said, as crowds waited for evacuation flights.",
    ),
    (
        "khaama",
        1,
        "Crowds return to Kabul airport gates",
        "Crowds returned to the gates of Kabul airport hoping for evacuation flights, while "
        "Taliban guards fired into the air to disperse them near the stampede site.",
    ),
    (
        "ariana-news",
        1,
        "Evacuation flights resume from Kabul airport",
        "Evacuation flights resumed from Kabul airport on Wednesday, the Taliban said, after the "
        "stampede at the gates forced a halt to the airlift for a day.",
    ),
]


def _lines(items: list[tuple[str, int, str, str]], offset: int = 0) -> list[str]:
    out = []
    for i, (source, day, title, text) in enumerate(items):
        published = DAY0 + dt.timedelta(days=day + offset, hours=i)
        out.append(
            json.dumps(
                {
                    "url": f"https://{source}.example/{offset}/{i}",
                    "title": title,
                    "text": text,
                    "published": published.isoformat(),
                    "source": source,
                    "language": "en",
                }
            )
        )
    return out


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    s = Settings(data_dir=tmp_path / "data", config_dir=ROOT / "config", database_url=db_url)
    with Storage(db_url) as store:
        store.upgrade()
    return s


def _import(settings: Settings, lines: list[str], tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    watchlist = load_watchlist(settings.config_dir)
    with Storage(settings.effective_database_url) as store:
        store.sync_feeds(watchlist.feeds, DAY0)
        Importer(
            store,
            {f.id: f for f in watchlist.feeds},
            watchlist.terms,
            caps=caps(settings),
            now=DAY0 + dt.timedelta(days=30),
        ).import_path(path)


def _grouping(settings: Settings) -> dict[str, int]:
    with Storage(settings.effective_database_url) as store:
        listed = store.list_narratives(limit=100)
        out = {}
        for s in listed:
            detail = store.narrative(s.id)
            assert detail is not None
            for m in detail.members:
                out[m.url or ""] = s.id
    return out


def test_stories_become_separate_narratives(settings: Settings, tmp_path: Path) -> None:
    _import(settings, _lines(TALKS) + _lines(AIRPORT), tmp_path)
    now = DAY0 + dt.timedelta(days=3)
    run = run_narratives(settings, now=now)
    assert run.articles == len(TALKS) + len(AIRPORT)
    grouping = _grouping(settings)
    talks = {grouping[f"https://{s}.example/0/{i}"] for i, (s, *_rest) in enumerate(TALKS)}
    airport = {grouping[f"https://{s}.example/0/{i}"] for i, (s, *_rest) in enumerate(AIRPORT)}
    assert len(talks) == 1, grouping
    assert len(airport) == 1, grouping
    assert talks != airport
    with Storage(settings.effective_database_url) as store:
        detail = store.narrative(talks.pop())
    assert detail is not None
    assert detail.summary.article_count == len(TALKS)
    assert detail.summary.active_days == 3
    assert "ttp" in detail.summary.terms
    assert detail.outlets[0].role == "first" and detail.outlets[0].outlet == "Dawn"
    assert [n for _, n, _ in detail.timeline] == [2, 1, 1]
    assert detail.passages
    assert detail.summary.key_phrases


def test_incremental_run_keeps_ids_and_rebuild_is_deterministic(
    settings: Settings, tmp_path: Path
) -> None:
    _import(settings, _lines(TALKS[:2]) + _lines(AIRPORT[:1]), tmp_path)
    run_narratives(settings, now=DAY0 + dt.timedelta(days=1))
    first = _grouping(settings)
    _import(settings, _lines(TALKS[2:]) + _lines(AIRPORT[1:]), tmp_path)
    second_run = run_narratives(settings, now=DAY0 + dt.timedelta(days=3))
    assert second_run.articles == len(TALKS) + len(AIRPORT) - 3
    incremental = _grouping(settings)
    assert {k: v for k, v in incremental.items() if k in first} == first  # stable ids
    rebuilt = run_narratives(settings, rebuild=True, now=DAY0 + dt.timedelta(days=3))
    assert rebuilt.rebuilt
    once = _grouping(settings)
    run_narratives(settings, rebuild=True, now=DAY0 + dt.timedelta(days=3))
    assert _grouping(settings) == once


def test_a_second_run_has_nothing_to_do(settings: Settings, tmp_path: Path) -> None:
    _import(settings, _lines(TALKS), tmp_path)
    run_narratives(settings, now=DAY0 + dt.timedelta(days=3))
    again = run_narratives(settings, now=DAY0 + dt.timedelta(days=3))
    assert again.articles == 0


@pytest.mark.usefixtures("prefect_api")
def test_flow_and_cli(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _import(settings, _lines(TALKS) + _lines(AIRPORT), tmp_path)
    token = RUN_OPTIONS.set(RunOptions(settings=settings))
    try:
        result = update_narratives()
    finally:
        RUN_OPTIONS.reset(token)
    assert result["articles"] == len(TALKS) + len(AIRPORT)
    monkeypatch.setenv("JIRGA_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("JIRGA_CONFIG_DIR", str(settings.config_dir))
    runner = CliRunner()
    listed = runner.invoke(cli, ["narratives", "--format", "json"], catch_exceptions=False)
    assert listed.exit_code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) >= 2  # the two stories never share a narrative
    assert {"id", "label", "key_phrases", "state", "outlets", "languages"} <= set(rows[0])
    shown = runner.invoke(
        cli, ["narrative", str(rows[0]["id"]), "--format", "json"], catch_exceptions=False
    )
    detail = json.loads(shown.stdout)
    assert all(m["url"].startswith("https://") for m in detail["members"])
    text = runner.invoke(cli, ["narrative", str(rows[0]["id"])], catch_exceptions=False).stdout
    assert "timeline" in text and "outlets:" in text
    filtered = runner.invoke(
        cli, ["narratives", "--term", "khalilzad", "--format", "json"], catch_exceptions=False
    )
    assert json.loads(filtered.stdout) == []
    missing = runner.invoke(cli, ["narrative", "999999"])
    assert missing.exit_code == 1 and "no narrative" in missing.stderr


def test_different_stories_never_share_a_narrative(settings: Settings, tmp_path: Path) -> None:
    _import(settings, _lines(TALKS) + _lines(AIRPORT), tmp_path)
    run_narratives(settings, now=DAY0 + dt.timedelta(days=3))
    grouping = _grouping(settings)
    talks = {grouping[f"https://{s}.example/0/{i}"] for i, (s, *_rest) in enumerate(TALKS)}
    airport = {grouping[f"https://{s}.example/0/{i}"] for i, (s, *_rest) in enumerate(AIRPORT)}
    assert not talks & airport, grouping
    # Same-day retellings of one story do share one.
    assert grouping["https://dawn.example/0/0"] == grouping["https://express-tribune.example/0/1"]
