"""A few days of coverage for the digest's flow tests, imported through ``jirga import``'s path and
grouped into narratives by the real narratives stage: talks with the TTP told ten days ago and
again on the digest's day (in English and Urdu), and a Kabul airport story that is new that day.

The digest's day is :data:`DAY` in Asia/Karachi; :data:`NOW` is the next morning, after the
digest fell due.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from flows.importer import Importer
from flows.narratives import run_narratives
from flows.polling import caps
from jirga.config import load_watchlist
from jirga.settings import Settings
from storage.facade import Storage

TZ = ZoneInfo("Asia/Karachi")
DAY = dt.date(2026, 3, 3)
NOW = dt.datetime(2026, 3, 4, 3, 0, tzinfo=dt.UTC)  # 08:00 in Karachi, after the 07:00 due time

# (source, days before DAY, local hour, title, text, language)
STORIES = [
    ("dawn", 10, 9, "Government forms jirga for talks with the TTP",
     "Islamabad named a jirga of tribal elders to open talks with the TTP in Kabul, officials "
     "said, as the Afghan Taliban offered to host the dialogue with Tehrik-i-Taliban Pakistan.",
     "en"),
    ("express-tribune", 10, 11, "Jirga of elders to lead dialogue with TTP",
     "A jirga of tribal elders will lead the dialogue with the TTP, the interior minister said, "
     "adding that the talks in Kabul would be facilitated by the Afghan Taliban.", "en"),
    ("the-news", 9, 10, "TTP talks: jirga reaches Kabul",
     "The jirga of tribal elders reached Kabul for talks with the TTP on Tuesday, with the "
     "Afghan Taliban acting as hosts of the dialogue.", "en"),
    ("dawn", 0, 9, "TTP talks resume as jirga returns to Kabul",
     "The jirga of tribal elders returned to Kabul to resume talks with the TTP, hosted again "
     "by the Afghan Taliban, after a pause in the dialogue with Tehrik-i-Taliban Pakistan.",
     "en"),
    ("jang", 0, 10, "ٹی ٹی پی سے مذاکرات کے لیے جرگہ دوبارہ کابل پہنچ گیا",
     "قبائلی عمائدین کا جرگہ ٹی ٹی پی سے مذاکرات کے لیے دوبارہ کابل پہنچ گیا ہے۔ افغان طالبان "
     "ان مذاکرات کی میزبانی کر رہے ہیں اور کالعدم تحریک طالبان پاکستان کے نمائندے بھی موجود ہیں۔",
     "ur"),
    ("tolonews-en", 0, 12, "Taliban close Kabul airport road after stampede",
     "The Taliban closed the road to Kabul airport after a stampede at the gates left three "
     "people injured, witnesses said, as crowds waited for evacuation flights.", "en"),
    ("khaama", 0, 14, "Crowds return to Kabul airport gates",
     "Crowds returned to the gates of Kabul airport hoping for evacuation flights, while "
     "Taliban guards fired into the air to disperse them near the stampede site.", "en"),
    ("ariana-news", 0, 16, "Evacuation flights resume from Kabul airport",
     "Evacuation flights resumed from Kabul airport on Wednesday, the Taliban said, after the "
     "stampede at the gates forced a halt to the airlift for a day.", "en"),
]  # fmt: skip


def url(source: str, i: int) -> str:
    return f"https://{source}.example/story/{i}"


def lines(stories: list[tuple[str, int, int, str, str, str]] = STORIES) -> list[str]:
    out = []
    for i, (source, before, hour, title, text, language) in enumerate(stories):
        local = dt.datetime.combine(DAY - dt.timedelta(days=before), dt.time(hour), tzinfo=TZ)
        record = {
            "url": url(source, i),
            "title": title,
            "text": text,
            "published": local.astimezone(dt.UTC).isoformat(),
            "source": source,
            "language": language,
        }
        out.append(json.dumps(record, ensure_ascii=False))
    return out


def day_urls(stories: list[tuple[str, int, int, str, str, str]] = STORIES) -> list[str]:
    """The URLs of the articles published on DAY."""
    return [url(s[0], i) for i, s in enumerate(stories) if s[1] == 0]


def fill(settings: Settings, folder: Path, records: list[str] | None = None) -> None:
    """Import the records (default: the stories) and group them into narratives."""
    path = folder / "corpus.jsonl"
    path.write_text("\n".join(records or lines()) + "\n", encoding="utf-8")
    watchlist = load_watchlist(settings.config_dir)
    with Storage(settings.effective_database_url) as store:
        store.sync_feeds(watchlist.feeds, NOW - dt.timedelta(days=30))
        report = Importer(
            store,
            {f.id: f for f in watchlist.feeds},
            watchlist.terms,
            caps=caps(settings),
            now=NOW,
        ).import_path(path)
    assert report.accepted > 0, report.problems
    run_narratives(settings, now=NOW)
