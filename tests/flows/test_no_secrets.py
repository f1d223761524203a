"""Secrets never leave the environment: the flows run with a sentinel SMTP password (really used
to log in, over STARTTLS, to a real SMTP server; and refused by another) and a PostgreSQL URL with
a sentinel password (PostgreSQL here trusts 127.0.0.1, so any password connects), on the paths
that succeed and on those that fail. Then every log record, all output, every row of the Prefect
server's database (flow and task runs, their parameters and states, logs, artifacts, events) and
every text column of jirga's database are searched for the sentinels."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import sqlite3
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from flows.digest import send_daily_digest
from flows.poll import poll_feeds
from jirga.mail import MailError
from storage.facade import Storage
from tests.flows.conftest import FeedServer, Route
from tests.flows.feeds import dawn_items, feeds_toml, rss
from tests.mailserver import mail_server

pytestmark = [pytest.mark.usefixtures("prefect_api"), pytest.mark.postgres, pytest.mark.slow]

SMTP_PASSWORD = f"smtpSentinel{uuid.uuid4().hex}"
DB_PASSWORD = f"dbSentinel{uuid.uuid4().hex}"
NOW = dt.datetime.now(dt.UTC)
ITEMS = dawn_items(NOW, second_age=dt.timedelta(days=3))


def forms(secret: str) -> list[str]:
    """The secret as text, and as SMTP AUTH PLAIN and LOGIN put it on the wire (base64)."""
    plain = base64.b64encode(f"\0jirga\0{secret}".encode()).decode()
    login = base64.b64encode(secret.encode()).decode()
    return [secret, plain, login, secret.lower()]


class Everything(logging.Handler):
    """Every record of every logger, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


@pytest.fixture
def every_log() -> Iterator[Everything]:
    handler = Everything()
    loggers = [logging.getLogger(), logging.getLogger("prefect")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


def _ca_file(context: ssl.SSLContext, path: Path) -> Path:
    """The test authority as a PEM file, for the default context the flow builds itself."""
    path.write_text("".join(ssl.DER_cert_to_PEM_cert(c) for c in context.get_ca_certs(True)))
    return path


def _flow_run_id(state: Any) -> str:
    return str(state.state_details.flow_run_id)


def _prefect_rows(run_ids: list[str]) -> list[str]:
    """Every value of every table of the Prefect server's database, once the logs and events of
    ``run_ids`` have arrived there."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    APILogWorker.drain_all(timeout=20)
    EventsWorker.drain_all(timeout=20)
    path = sa.make_url(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).database
    assert path is not None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:

        def arrived() -> bool:
            for run_id in run_ids:
                for table in ("log", "events"):
                    column = "flow_run_id" if table == "log" else "resource_id"
                    value = run_id if table == "log" else f"prefect.flow-run.{run_id}"
                    found = conn.execute(
                        f"SELECT 1 FROM {table} WHERE {column} = ? LIMIT 1", (value,)
                    ).fetchone()
                    if found is None:
                        return False
            return True

        from tests.flows.prefect_runs import wait_for

        wait_for("logs and events in the Prefect database", lambda: arrived() or None, 60)
        texts = []
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                texts.extend(_text(v) for v in row if v is not None)
        return texts
    finally:
        conn.close()


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _jirga_rows(url: str) -> list[str]:
    """Every value of every table of jirga's database, as text."""
    texts = []
    with Storage(url) as store, store.engine.connect() as conn:
        meta = sa.MetaData()
        meta.reflect(conn)
        for table in meta.sorted_tables:
            for row in conn.execute(sa.select(table)):
                texts.extend(_text(v) for v in row if v is not None)
    return texts


def test_no_secret_in_logs_runs_artifacts_or_databases(
    postgres_url: str,
    jirga_home: Path,
    feed_server: FeedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    every_log: Everything,
    capfd: pytest.CaptureFixture[str],
) -> None:
    feed_server.routes["/en.xml"] = Route(body=rss(ITEMS))
    feed_server.routes["/gone.xml"] = Route(status=500, body=b"no")
    (jirga_home / "config" / "feeds.toml").write_text(
        feeds_toml(
            [("en", feed_server.url("/en.xml"), "en"), ("bad", feed_server.url("/gone.xml"), "en")]
        )
    )
    url = sa.make_url(postgres_url).set(password=DB_PASSWORD).render_as_string(hide_password=False)
    assert DB_PASSWORD in url
    with Storage(url) as store:
        store.upgrade()
    # Settings reach the flows the way they reach a deployment's run: from the environment.
    monkeypatch.setenv("JIRGA_DATABASE_URL", url)
    monkeypatch.setenv("JIRGA_PARSE_WORKERS", "1")
    monkeypatch.setenv("JIRGA_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JIRGA_SMTP_TLS", "starttls")
    monkeypatch.setenv("JIRGA_SMTP_USER", "jirga")
    monkeypatch.setenv("JIRGA_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("JIRGA_DIGEST_RECIPIENTS", "ana@example.org")
    run_ids: list[str] = []

    state = poll_feeds(return_state=True)
    assert state.is_completed()
    run_ids.append(_flow_run_id(state))

    # The password is used: the server accepts the login only with it.
    with mail_server(tls="starttls", login=("jirga", SMTP_PASSWORD)) as server:
        assert server.client_context is not None
        monkeypatch.setenv(
            "SSL_CERT_FILE", str(_ca_file(server.client_context, tmp_path / "ca.pem"))
        )
        monkeypatch.setenv("JIRGA_SMTP_PORT", str(server.port))
        state = send_daily_digest(return_state=True)
        assert state.is_completed(), state.message
        assert len(server.inbox.received()) == 1
        run_ids.append(_flow_run_id(state))

    # A server that wants another password refuses it; the digest of another day fails.
    earlier = (NOW - dt.timedelta(days=4)).date()
    with mail_server(tls="starttls", login=("jirga", "something-else")) as server:
        assert server.client_context is not None
        _ca_file(server.client_context, tmp_path / "ca.pem")
        monkeypatch.setenv("JIRGA_SMTP_PORT", str(server.port))
        with pytest.raises(MailError, match="login as 'jirga' refused"):
            send_daily_digest(date=earlier)
    # A database that does not exist, reached with the password.
    missing = sa.make_url(url).set(database=f"missing_{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("JIRGA_DATABASE_URL", missing.render_as_string(hide_password=False))
    failed = poll_feeds(return_state=True)
    assert failed.is_failed()
    run_ids.append(_flow_run_id(failed))
    monkeypatch.setenv("JIRGA_DATABASE_URL", url)

    prefect_texts = _prefect_rows(run_ids)
    jirga_texts = _jirga_rows(url)
    out, err = capfd.readouterr()
    files = [
        p.read_text(encoding="utf-8", errors="replace")
        for p in (jirga_home / "data").rglob("*")
        if p.is_file()
    ]
    places = {
        "log records": "\n".join(every_log.texts),
        "output": out + err,
        "Prefect database": "\n".join(prefect_texts),
        "jirga database": "\n".join(jirga_texts),
        "data files": "\n".join(files),
    }
    # What is searched holds what the runs did: the summaries, the refusal, the failure.
    prefect_all = places["Prefect database"]
    assert "feeds polled: 1 ok, 0 not modified, 1 failed" in prefect_all  # poll-summary
    assert "# jirga daily digest" in prefect_all  # the daily-digest artifact
    assert (
        "login as 'jirga' refused" in prefect_all
        and "login as 'jirga' refused" in places["jirga database"]
    )
    assert f'database "{missing.database}" does not exist' in prefect_all  # the failed poll
    assert "Islamabad weighs fresh talks" in places["jirga database"]
    assert any("poll_feeds" in t for t in every_log.texts)
    for place, text in places.items():
        for secret in (SMTP_PASSWORD, DB_PASSWORD):
            for form in forms(secret):
                assert form not in text, f"a secret ({form[:16]}…) appears in the {place}"
