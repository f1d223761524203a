"""The daily digest end to end on both databases: articles imported and grouped, the digest
composed, stored once and delivered once — to the outbox, or to a real SMTP server on 127.0.0.1
that may be down, refuse the login, or see its sender killed mid-send."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from flows.cli import cli
from flows.digesting import DigestNotDue, run_digest
from flows.runopts import RUN_OPTIONS, RunOptions
from jirga.mail import MailError, message_id
from jirga.settings import Settings
from storage.facade import Storage
from tests.flows.digest_corpus import DAY, NOW, day_urls, fill
from tests.jirga.html_audit import audit
from tests.mailserver import Inbox, Received, free_port, mail_server

ROOT = Path(__file__).resolve().parents[2]
CHILD = "from tests.flows.digest_child import main; main()"
A, B, C = "ana@example.org", "bilal@example.org", "chen@example.org"
DOMAIN = "jirga.example"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    with Storage(db_url) as store:
        store.upgrade()
    return Settings(
        data_dir=tmp_path / "data",
        config_dir=ROOT / "config",
        database_url=db_url,
        smtp_from=f"jirga digest <digest@{DOMAIN}>",
    )


@pytest.fixture
def filled(settings: Settings, tmp_path: Path) -> Settings:
    fill(settings, tmp_path)
    return settings


def by_smtp(settings: Settings, port: int, *recipients: str, **more: object) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_tls": "none",
            "smtp_timeout": 10.0,
            "digest_recipients": list(recipients),
            **more,
        }
    )


def parsed(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def deliveries(settings: Settings, day: dt.date = DAY) -> dict[str, tuple[str, str | None]]:
    with Storage(settings.effective_database_url) as store:
        stored = store.stored_digest(day)
        assert stored is not None
        return {d.recipient: (d.status, d.last_error) for d in store.deliveries(stored.id)}


def test_without_smtp_the_digest_goes_to_the_outbox_once(filled: Settings) -> None:
    run = run_digest(filled, day=DAY, now=NOW)
    outbox = filled.outbox_dir
    eml, html = outbox / "digest-2026-03-03.eml", outbox / "digest-2026-03-03.html"
    assert run.written == [str(eml)] and run.sent == [] and run.failed == []
    assert run.composed and 0 < run.size < filled.digest_max_bytes
    msg = parsed(eml.read_bytes())
    assert msg["To"] == "undisclosed-recipients:;"
    assert msg["Message-ID"] == message_id(DAY, "outbox", DOMAIN)
    text, body = parts(msg)
    for url in day_urls():  # every article of the day, with its link, in both parts
        assert url in text and f'href="{url}"' in body
    assert "ٹی ٹی پی سے مذاکرات" in text
    assert audit(body) == []
    page = html.read_text(encoding="utf-8")
    assert audit(page, images="data:image/png;base64,") == []
    assert "data:image/png;base64," in page  # a browser shows the charts without the message
    assert not list(outbox.glob(".*.tmp"))  # atomic writes leave no temporary file behind
    assert deliveries(filled) == {"outbox": ("sent", None)}
    before = eml.read_bytes()
    again = run_digest(filled, day=DAY, now=NOW + dt.timedelta(hours=2))
    assert again.written == [] and again.already_sent == ["outbox (2026-03-03)"]
    assert not again.composed and eml.read_bytes() == before


def test_each_recipient_gets_the_digest_once(filled: Settings) -> None:
    with mail_server() as server:
        config = by_smtp(filled, server.port, A, B)
        first = run_digest(config, day=DAY, now=NOW)
        assert sorted(first.sent) == [f"{A} (2026-03-03)", f"{B} (2026-03-03)"]
        second = run_digest(config, day=DAY, now=NOW + dt.timedelta(hours=1))
        assert second.sent == [] and sorted(second.already_sent) == sorted(first.sent)
        # A recipient added later gets the very digest the others got, and only they get it.
        third = run_digest(by_smtp(filled, server.port, A, B, C), day=DAY, now=NOW)
        assert third.sent == [f"{C} (2026-03-03)"]
        got = server.inbox.received()
    assert [m.rcpt_tos for m in got] == [(A,), (B,), (C,)]
    messages = [m.message for m in got]
    assert [m["To"] for m in messages] == [A, B, C]
    assert [m["Message-ID"] for m in messages] == [message_id(DAY, r, DOMAIN) for r in (A, B, C)]
    assert len({m["Subject"] for m in messages}) == 1
    assert {parts(m) for m in messages} == {parts(messages[0])}
    assert all(m.mail_from == f"digest@{DOMAIN}" for m in got)
    assert deliveries(filled) == {A: ("sent", None), B: ("sent", None), C: ("sent", None)}


def test_an_smtp_server_that_is_down_leaves_the_digest_pending_for_the_next_run(
    filled: Settings,
) -> None:
    port = free_port()
    config = by_smtp(filled, port, A, B)
    down = run_digest(config, day=DAY, now=NOW)
    assert down.sent == [] and len(down.failed) == 2
    failure = down.failure()
    assert failure is not None and f"cannot reach SMTP server 127.0.0.1:{port}" in failure
    assert {s for s, _ in deliveries(filled).values()} == {"pending"}
    assert all("cannot reach" in (e or "") for _, e in deliveries(filled).values())
    with mail_server(port=port) as server:
        # The next day's run sends that day's digest and retries the one left pending.
        nxt = run_digest(config, day=DAY + dt.timedelta(days=1), now=NOW + dt.timedelta(days=1))
        got = server.inbox.received()
    assert nxt.failed == []
    assert Counter((m.message["X-Jirga-Digest"], m.rcpt_tos) for m in got) == {
        ("2026-03-03", (A,)): 1,
        ("2026-03-03", (B,)): 1,
        ("2026-03-04", (A,)): 1,
        ("2026-03-04", (B,)): 1,
    }
    assert deliveries(filled) == {A: ("sent", None), B: ("sent", None)}


def test_a_refused_login_is_reported_and_retried_later(filled: Settings) -> None:
    with mail_server(tls="starttls", login=("jirga", "right")) as server:
        wrong = by_smtp(filled, server.port, A, smtp_tls="starttls", smtp_user="jirga")
        wrong = wrong.model_copy(update={"smtp_password": SecretStr("wrong")})
        refused = run_digest(wrong, day=DAY, now=NOW, tls_context=server.client_context)
        assert refused.sent == [] and "login as 'jirga' refused" in (refused.failure() or "")
        assert "wrong" not in (refused.failure() or "")
        assert deliveries(filled)[A][0] == "pending"
        right = wrong.model_copy(update={"smtp_password": SecretStr("right")})
        ok = run_digest(right, day=DAY, now=NOW, tls_context=server.client_context)
        assert ok.sent == [f"{A} (2026-03-03)"]
        assert len(server.inbox.received()) == 1


def test_a_day_with_nothing_is_a_short_digest_or_none(settings: Settings) -> None:
    run = run_digest(settings, day=DAY, now=NOW)
    assert run.failed == [] and run.nothing is None
    text, _html = parts(parsed((settings.outbox_dir / "digest-2026-03-03.eml").read_bytes()))
    assert "No article mentioning a watch term was published on 03 Mar 2026" in text
    assert len(text) < 3000
    quiet = settings.model_copy(update={"digest_send_empty": False})
    none = run_digest(quiet, day=DAY + dt.timedelta(days=1), now=NOW + dt.timedelta(days=1))
    assert none.nothing is not None and none.failed == [] and none.written == []
    assert "digest of 2026-03-04; nothing published" in none.headline()
    with Storage(settings.effective_database_url) as store:
        assert store.stored_digest(DAY + dt.timedelta(days=1)) is None


def test_a_day_not_over_is_refused(settings: Settings) -> None:
    with pytest.raises(DigestNotDue, match="due at 2026-03-04 07:00"):
        run_digest(settings, day=DAY, now=NOW - dt.timedelta(hours=2))


# --- processes: at the same time, and killed mid-send --------------------------------------------


def _child_env(settings: Settings, port: int, *recipients: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRGA_", "PREFECT_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        JIRGA_DATA_DIR=str(settings.data_dir),
        JIRGA_CONFIG_DIR=str(settings.config_dir),
        JIRGA_DATABASE_URL=settings.effective_database_url,
        JIRGA_SMTP_HOST="127.0.0.1",
        JIRGA_SMTP_PORT=str(port),
        JIRGA_SMTP_TLS="none",
        JIRGA_SMTP_FROM=settings.smtp_from,
        JIRGA_DIGEST_RECIPIENTS=",".join(recipients),
    )
    return env


def _start(settings: Settings, env: dict[str, str], now: dt.datetime) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, DAY.isoformat(), now.isoformat()],
        cwd=settings.data_dir.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_two_runs_at_the_same_time_send_one_message_per_recipient(filled: Settings) -> None:
    def slow(_got: Received) -> None:
        time.sleep(0.5)  # a slow server keeps the first run inside its claims for a while

    with mail_server(inbox=Inbox(on_data=slow)) as server:
        env = _child_env(filled, server.port, A, B)
        runs = [_start(filled, env, NOW), _start(filled, env, NOW)]
        results = [_finish(p) for p in runs]
        got = server.inbox.received()
    assert Counter(m.rcpt_tos for m in got) == {(A,): 1, (B,): 1}
    sent = [s for r in results for s in r["sent"]]  # type: ignore[attr-defined]
    assert sorted(sent) == [f"{A} (2026-03-03)", f"{B} (2026-03-03)"]
    assert deliveries(filled) == {A: ("sent", None), B: ("sent", None)}


@pytest.mark.slow
def test_a_run_killed_after_the_server_accepted_resends_once_its_claim_is_stale(
    filled: Settings,
) -> None:
    """The documented outcome of a crash between "accepted" and "marked sent": the delivery
    stays claimed; reruns leave it alone until the claim is JIRGA_DIGEST_CLAIM_MINUTES old, then
    send it again with the same Message-ID. Other recipients are not affected."""
    victim: list[subprocess.Popen[str]] = []

    def kill_first(_got: Received) -> None:
        if len(victim) == 1:
            proc = victim.pop()
            os.kill(proc.pid, signal.SIGKILL)  # the message is kept; the reply never leaves

    with mail_server(inbox=Inbox(on_data=kill_first)) as server:
        env = _child_env(filled, server.port, A, B)
        proc = _start(filled, env, NOW)
        victim.append(proc)
        proc.communicate(timeout=240)
        assert proc.returncode == -signal.SIGKILL
        assert [m.rcpt_tos for m in server.inbox.received()] == [(A,)]
        assert deliveries(filled) == {A: ("sending", None), B: ("pending", None)}

        config = by_smtp(filled, server.port, A, B)
        soon = run_digest(config, day=DAY, now=NOW + dt.timedelta(minutes=5))
        assert soon.sent == [f"{B} (2026-03-03)"]  # the one never claimed goes now
        assert soon.in_flight == [f"{A} (2026-03-03)"]
        assert "being sent by another run" in soon.headline()
        stale = NOW + dt.timedelta(minutes=filled.digest_claim_minutes + 1)
        later = run_digest(config, day=DAY, now=stale)
        assert later.sent == [f"{A} (2026-03-03)"]
        last = run_digest(config, day=DAY, now=stale + dt.timedelta(hours=1))
        assert last.sent == [] and sorted(last.already_sent) == [
            f"{A} (2026-03-03)",
            f"{B} (2026-03-03)",
        ]
        got = server.inbox.received()
    copies = Counter(m.rcpt_tos for m in got)
    assert copies == {(A,): 2, (B,): 1}  # at least once: A got a second copy...
    ids = {m.rcpt_tos: {m.message["Message-ID"]} for m in got}
    assert ids[(A,)] == {message_id(DAY, A, DOMAIN)}  # ...with the same Message-ID
    resent = [m.data for m in got if m.rcpt_tos == (A,)]
    assert resent[0] == resent[1]  # byte for byte the same message
    assert deliveries(filled) == {A: ("sent", None), B: ("sent", None)}


# --- the Prefect flow and the command ----------------------------------------------------------


@pytest.mark.usefixtures("prefect_api")
def test_flow_artifact_and_failure(filled: Settings) -> None:
    from flows.digest import send_daily_digest

    token = RUN_OPTIONS.set(RunOptions(settings=filled))
    try:
        result = send_daily_digest(date=DAY)
    finally:
        RUN_OPTIONS.reset(token)
    assert result["written"] and result["failed"] == []
    assert "digest of 2026-03-03" in str(result["headline"])

    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def latest() -> str:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["daily-digest"])),
                limit=1,
                sort="CREATED_DESC",  # type: ignore[arg-type]
            )
        return str(found[0].data)

    markdown = asyncio.run(latest())
    assert markdown.startswith("# jirga daily digest — Tuesday 03 March 2026")
    assert "**Delivery:** digest of 2026-03-03" in markdown
    for url in day_urls():
        assert f"]({url})" in markdown

    down = by_smtp(filled, free_port(), A)
    token = RUN_OPTIONS.set(RunOptions(settings=down))
    try:
        with pytest.raises(MailError, match="cannot reach SMTP server"):
            send_daily_digest(date=DAY)
    finally:
        RUN_OPTIONS.reset(token)
    assert deliveries(filled)[A][0] == "pending"


def _cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.usefixtures("prefect_api")
def test_command(filled: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("JIRGA_"):
            monkeypatch.delenv(key)
    env = {
        "JIRGA_DATA_DIR": str(filled.data_dir),
        "JIRGA_CONFIG_DIR": str(filled.config_dir),
        "JIRGA_DATABASE_URL": filled.effective_database_url,
        "JIRGA_SMTP_FROM": filled.smtp_from,
    }
    code, out, err = _cli(env, "digest", "--date", "2026-03-03", "--preview")
    assert code == 0, err
    preview = Path(out.strip())
    assert preview == filled.outbox_dir / "preview-2026-03-03.html"
    assert "jirga digest Tue 03 Mar 2026" in err
    assert audit(preview.read_text(encoding="utf-8"), images="data:image/png;base64,") == []
    with Storage(filled.effective_database_url) as store:
        assert store.stored_digest(DAY) is None  # a preview stores and sends nothing
    assert not (filled.outbox_dir / "digest-2026-03-03.eml").exists()

    code, out, err = _cli(env, "digest", "--date", "2026-03-03")
    assert code == 0, err
    assert "written to" in out and "digest-2026-03-03.eml" in out
    code, out, err = _cli(env, "digest", "--date", "2026-03-03", "--json")
    assert code == 0, err
    assert json.loads(out)["already_sent"] == ["outbox (2026-03-03)"]

    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).date().isoformat()
    code, out, err = _cli(env, "digest", "--date", future)
    assert code == 1 and err.startswith("error: the digest of") and "Traceback" not in err
    assert "--preview" in err

    code, out, err = _cli({**env, "JIRGA_DIGEST_RECIPIENTS": "not an address"}, "digest")
    assert code == 1 and "JIRGA_DIGEST_RECIPIENTS" in err and len(err.strip().splitlines()) == 1

    down = {**env, "JIRGA_SMTP_HOST": "127.0.0.1", "JIRGA_SMTP_PORT": str(free_port()),
            "JIRGA_SMTP_TLS": "none", "JIRGA_DIGEST_RECIPIENTS": A}  # fmt: skip
    code, out, err = _cli(down, "digest", "--date", "2026-03-03")
    assert code == 1 and "cannot reach SMTP server" in err and "Traceback" not in err
    assert "left pending; the next run retries" in err
