"""Render a sample daily digest to HTML and photograph it with headless Chromium, so a person can
check how it looks (not a benchmark, and not a test: it prints paths and asserts nothing).

A temporary SQLite database is filled the way a user's is — a fortnight of articles in English,
Urdu, Pashto and Dari through ``jirga import``'s normalise → match → dedup → store path, then the
real narratives stage, then a few sick feeds — and the digest of the last day is rendered as the
outbox would write it (charts inlined). Chromium (Debian's ``chromium`` package) takes a desktop
and a phone-width screenshot.

    uv run python bench/screenshot_digest.py [--out DIR] [--height 4200]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.digesting import DigestRunner  # noqa: E402
from flows.importer import Importer  # noqa: E402
from flows.narratives import run_narratives  # noqa: E402
from flows.polling import caps  # noqa: E402
from jirga.config import load_watchlist  # noqa: E402
from jirga.digest_render import self_contained  # noqa: E402
from jirga.settings import Settings  # noqa: E402
from storage.facade import Storage  # noqa: E402

TZ = ZoneInfo("Asia/Karachi")
DAY = dt.date(2026, 3, 3)
NOW = dt.datetime(2026, 3, 4, 2, 30, tzinfo=dt.UTC)  # 07:30 in Karachi

# (source, days before DAY, hour, title, text, language)
SAMPLE = [
    # Talks with the TTP: told a week ago, back on the day after five quiet days.
    ("dawn", 7, 9, "Government forms jirga for talks with the TTP",
     "Islamabad named a jirga of tribal elders to open talks with the TTP in Kabul, officials "
     "said, as the Afghan Taliban offered to host the dialogue with Tehrik-i-Taliban Pakistan.",
     "en"),
    ("express-tribune", 7, 13, "Jirga of elders to lead dialogue with TTP",
     "A jirga of tribal elders will lead the dialogue with the TTP, the interior minister said, "
     "adding that the talks in Kabul would be facilitated by the Afghan Taliban.", "en"),
    ("the-news", 6, 10, "TTP talks: jirga reaches Kabul",
     "The jirga of tribal elders reached Kabul for talks with the TTP, with the Afghan Taliban "
     "acting as hosts of the dialogue.", "en"),
    ("dawn", 0, 8, "TTP talks resume as jirga returns to Kabul",
     "The jirga of tribal elders returned to Kabul to resume talks with the TTP, hosted again by "
     "the Afghan Taliban, after a pause in the dialogue with Tehrik-i-Taliban Pakistan. Critics "
     "said a military operation is not the solution and that a political settlement is needed.",
     "en"),
    ("the-news", 0, 9, "Jirga back in Kabul for second round of TTP talks",
     "A jirga of tribal elders is back in Kabul for a second round of talks with the TTP, the "
     "Afghan Taliban hosting the dialogue with Tehrik-i-Taliban Pakistan once more.", "en"),
    ("jang", 0, 10, "ٹی ٹی پی سے مذاکرات کے لیے جرگہ دوبارہ کابل پہنچ گیا",
     "قبائلی عمائدین کا جرگہ ٹی ٹی پی سے مذاکرات کے لیے دوبارہ کابل پہنچ گیا ہے۔ افغان طالبان ان "
     "مذاکرات کی میزبانی کر رہے ہیں اور کالعدم تحریک طالبان پاکستان کے نمائندے بھی موجود ہیں۔",
     "ur"),
    ("express-urdu", 0, 11, "کالعدم ٹی ٹی پی سے مذاکرات کا دوسرا دور کابل میں شروع",
     "کالعدم تحریک طالبان پاکستان سے مذاکرات کا دوسرا دور کابل میں شروع ہو گیا، قبائلی جرگہ افغان "
     "طالبان کی میزبانی میں ٹی ٹی پی کے نمائندوں سے ملا۔", "ur"),
    ("tolonews-ps", 0, 12, "په کابل کې له ټي ټي پي سره د خبرو اترو بله دوره",
     "د پاکستان د قبايلي مشرانو جرګه په کابل کې له ټي ټي پي سره د خبرو اترو لپاره بیا راغله، "
     "افغان طالبان د دې خبرو کوربه دي.", "ps"),
    # Kabul airport: new on the day.
    ("tolonews-en", 0, 13, "Taliban close Kabul airport road after stampede",
     "The Taliban closed the road to Kabul airport after a stampede at the gates left three "
     "people injured, witnesses said, as crowds waited for evacuation flights.", "en"),
    ("khaama", 0, 14, "Crowds return to Kabul airport gates",
     "Crowds returned to the gates of Kabul airport hoping for evacuation flights, while "
     "Taliban guards fired into the air to disperse them near the stampede site.", "en"),
    ("ariana-news", 0, 16, "Evacuation flights resume from Kabul airport",
     "Evacuation flights resumed from Kabul airport, the Taliban said, after the stampede at the "
     "gates forced a halt to the airlift for a day.", "en"),
    ("tolonews-fa", 0, 17, "ازدحام دوباره در دروازه‌های میدان هوایی کابل",
     "طالبان پس از ازدحام در دروازه‌های میدان هوایی کابل، جاده منتهی به میدان هوایی را بستند و "
     "پروازهای تخلیه برای یک روز متوقف شد.", "fa"),
] + [
    # Khalilzad's diplomacy: a little every day, more and more.
    ("the-diplomat", d, 15, f"Khalilzad meets Taliban envoys in Doha ({label})",
     "Zalmay Khalilzad met Taliban envoys in Doha to discuss the Islamic Emirate's ties with "
     f"Washington and the release of detainees, his {label} meeting this week.", "en")
    for d, label in ((4, "first"), (2, "second"), (1, "third"), (0, "fourth"))
] + [
    ("afintl-en", 0, 18, "Khalilzad: Doha talks with Taliban 'constructive'",
     "Zalmay Khalilzad called his Doha talks with Taliban envoys constructive and said the "
     "release of detainees was discussed with the Islamic Emirate.", "en"),
] + [
    # Background: one report a day from Khaama, for the trailing averages.
    ("khaama", d, 11, f"Taliban officials visit Herat province ({d})",
     f"Taliban officials visited Herat province on day {d} of their tour, meeting elders about "
     "water, schools and the border crossing with Iran.", "en")
    for d in range(1, 14)
]  # fmt: skip


def records() -> list[str]:
    out = []
    for i, (source, before, hour, title, text, language) in enumerate(SAMPLE):
        local = dt.datetime.combine(DAY - dt.timedelta(days=before), dt.time(hour), tzinfo=TZ)
        out.append(
            json.dumps(
                {
                    "url": f"https://{source}.example/news/{i}",
                    "title": title,
                    "text": text,
                    "published": local.astimezone(dt.UTC).isoformat(),
                    "source": source,
                    "language": language,
                },
                ensure_ascii=False,
            )
        )
    return out


def sample_database(folder: Path) -> Settings:
    """A database filled as described in the module docstring; its settings."""
    settings = Settings(
        data_dir=folder / "data",
        config_dir=ROOT / "config",
        database_url=f"sqlite:///{folder / 'data' / 'jirga.db'}",
    )
    corpus = folder / "sample.jsonl"
    corpus.write_text("\n".join(records()) + "\n", encoding="utf-8")
    watchlist = load_watchlist(settings.config_dir)
    with Storage(settings.effective_database_url) as store:
        store.upgrade()
        store.sync_feeds(watchlist.feeds, NOW - dt.timedelta(days=30))
        Importer(
            store, {f.id: f for f in watchlist.feeds}, watchlist.terms, caps=caps(settings), now=NOW
        ).import_path(corpus)
        states = {s.feed_id: s for s in store.feed_states()}
        sick = {
            "geo-news": {
                "consecutive_errors": 4,
                "last_error": "HTTP 503 Service Unavailable",
                "next_attempt_at": NOW + dt.timedelta(hours=3),
                "last_success_at": NOW - dt.timedelta(days=2),
            },
            "samaa": {"consecutive_gone": 3, "gone": True, "last_error": "HTTP 410 Gone"},
            "pajhwok-en": {
                "next_attempt_at": NOW + dt.timedelta(hours=1),
                "last_error": "HTTP 429: asked to retry later",
            },
        }
        for feed_id, change in sick.items():
            store.record_fetch(dataclasses.replace(states[feed_id], **change), NOW, None)  # type: ignore[arg-type]
    run_narratives(settings, now=NOW)
    return settings


def screenshot(chromium: str, page: Path, png: Path, width: int, height: int) -> None:
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="folder for the HTML and PNGs (default: temp)")
    parser.add_argument("--height", type=int, default=4200, help="screenshot height in pixels")
    args = parser.parse_args()
    out: Path = args.out or Path(tempfile.mkdtemp(prefix="jirga-digest-shot-"))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jirga-digest-db-") as tmp:
        settings = sample_database(Path(tmp))
        watchlist = load_watchlist(settings.config_dir)
        with Storage(settings.effective_database_url) as store:
            fitted = DigestRunner(store, settings, watchlist, NOW).fitted(DAY)
    page = out / f"digest-{DAY.isoformat()}.html"
    page.write_text(self_contained(fitted.rendered), encoding="utf-8")
    (out / f"digest-{DAY.isoformat()}.txt").write_text(fitted.rendered.text, encoding="utf-8")
    print(f"subject: {fitted.rendered.subject}")
    print(f"email:   {fitted.size:,} bytes, {len(fitted.rendered.images)} inline charts")
    print(f"html:    {page}")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium not found: install Debian's `chromium` package for the screenshots")
        return
    desktop = out / f"digest-{DAY.isoformat()}-desktop.png"
    screenshot(chromium, page, desktop, 760, args.height)
    print(f"desktop: {desktop}")
    # Chromium's window is never narrower than 500 px: a phone's 390 px are framed instead.
    phone_height = args.height + 2400
    frame = out / "phone-frame.html"
    frame.write_text(
        '<!DOCTYPE html><body style="margin:0"><iframe src="' + page.name + '" style="width:390px;'
        f'height:{phone_height}px;border:0"></iframe></body>',
        encoding="utf-8",
    )
    phone = out / f"digest-{DAY.isoformat()}-phone.png"
    screenshot(chromium, frame, phone, 500, phone_height)
    print(f"phone:   {phone}")


if __name__ == "__main__":
    main()
