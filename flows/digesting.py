"""The daily digest as plain engine calls against storage, without Prefect.

Recipe: the day (the latest one due, unless named) → compose: read the day's rows, build the
digest, fit it under the size cap, render it and store it — or take the one stored already, so
every recipient and every rerun gets the same digest → a delivery per recipient → claim, send
and mark every delivery that is due, this day's and any of the last week's left pending.

Exactly once: a delivery is claimed in the database (pending → sending, one conditional UPDATE)
before its message is handed over, and marked sent after the server accepted it. A rerun, or a
second run at the same time, finds it sent or claimed and does nothing. A run that dies after
the server accepted the message but before marking it leaves the claim behind; once it is older
than ``JIRGA_DIGEST_CLAIM_MINUTES`` the next run sends the digest again, with the same
Message-ID (at least once: a lost digest is worse than a duplicate a mail system can drop).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from flows.lease import lease
from jirga.config import load_watchlist
from jirga.digest_content import DigestLimits
from jirga.digest_data import Delivery, DeliveryStatus, StoredDigest
from jirga.digest_fit import FittedDigest, fit_digest
from jirga.digest_model import due_at, due_day
from jirga.digest_render import self_contained
from jirga.errors import JirgaError
from jirga.lifecycle import LifecyclePolicy
from jirga.mail import (
    OUTBOX_RECIPIENT,
    MailError,
    SmtpConfig,
    SmtpSender,
    build_message,
    check_recipients,
    message_id,
    sender_address,
)
from jirga.outbox import outbox_paths, write_atomic
from jirga.settings import Settings
from jirga.types import Watchlist
from storage.facade import Storage

DIGEST_LEASE = "digest"
DIGEST_TIMEOUT = dt.timedelta(minutes=30)
RETRY_DAYS = 7  # pending deliveries of digests this many days old are still retried


@dataclass
class DigestRun:
    """What one digest run did."""

    day: str = ""
    digest_id: int | None = None
    subject: str = ""
    composed: bool = False  # this run rendered and stored the digest
    nothing: str | None = None  # why the day has no digest
    skipped: str | None = None  # another digest run holds the lease
    sent: list[str] = field(default_factory=list)  # "recipient (day)" handed to SMTP now
    written: list[str] = field(default_factory=list)  # outbox files written now
    already_sent: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)  # claimed by a run that has not finished
    failed: list[tuple[str, str]] = field(default_factory=list)  # (recipient (day), reason)
    size: int = 0  # bytes of the email
    markdown: str = ""

    def as_dict(self) -> dict[str, object]:
        """Plain values, for JSON and Prefect results (the Markdown is the artifact's)."""
        out = dataclasses.asdict(self)
        out.pop("markdown")
        return out

    def headline(self) -> str:
        """One line for logs and the terminal."""
        if self.skipped:
            return f"digest skipped: {self.skipped}"
        parts = [f"digest of {self.day}"]
        if self.nothing:
            parts.append(self.nothing)
        elif self.composed:
            parts.append(f"composed ({self.size // 1024} KiB)")
        if self.sent:
            parts.append("sent to " + ", ".join(self.sent))
        if self.written:
            parts.append("written to " + ", ".join(self.written))
        if self.already_sent:
            parts.append("already sent to " + ", ".join(self.already_sent))
        if self.in_flight:
            parts.append(
                "being sent by another run (or by one that died mid-send: sent again once its "
                "claim is stale) to " + ", ".join(self.in_flight)
            )
        if self.failed:
            parts.append(
                "NOT sent to "
                + "; ".join(f"{who}: {why}" for who, why in self.failed)
                + " (left pending; the next run retries)"
            )
        return "; ".join(parts)

    def failure(self) -> str | None:
        """The error of a run that left deliveries pending, or None."""
        if not self.failed:
            return None
        return "; ".join(f"digest to {who} not sent: {why}" for who, why in self.failed) + (
            " (left pending; the next run retries)"
        )


def smtp_config(settings: Settings) -> SmtpConfig | None:
    """The SMTP server of the settings, or None when digests go to the outbox."""
    if not settings.smtp_host or not settings.digest_recipients:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        tls=settings.smtp_tls,
        sender=settings.smtp_from,
        user=settings.smtp_user,
        password=password,
        timeout=settings.smtp_timeout,
    )


@dataclass
class DigestRunner:
    """The digest of one database with one set of settings, at one moment."""

    storage: Storage
    settings: Settings
    watchlist: Watchlist
    now: dt.datetime
    tls_context: ssl.SSLContext | None = None
    run: DigestRun = field(default_factory=DigestRun)

    @property
    def limits(self) -> DigestLimits:
        return DigestLimits(max_narratives=self.settings.digest_max_narratives)

    def fitted(self, day: dt.date) -> FittedDigest:
        """The digest of ``day`` built from the database now, under the size cap (no writes)."""
        source = self.storage.digest_source(
            day,
            tz=self.settings.tz,
            now=self.now,
            tracked=self.watchlist.narratives,
            terms=self.watchlist.terms,
        )
        return fit_digest(
            source,
            max_bytes=self.settings.digest_max_bytes,
            limits=self.limits,
            lifecycle=LifecyclePolicy(gap_days=self.settings.narrative_gap_days),
        )

    def compose(self, day: dt.date) -> StoredDigest | None:
        """The stored digest of ``day``: the one stored already, or a new one (None when the
        day had nothing and ``JIRGA_DIGEST_SEND_EMPTY`` is off)."""
        self.run.day = day.isoformat()
        stored = self.storage.stored_digest(day)
        if stored is None:
            fitted = self.fitted(day)
            if fitted.digest.empty and not self.settings.digest_send_empty:
                self.run.nothing = "nothing published; no digest (JIRGA_DIGEST_SEND_EMPTY=false)"
                return None
            r = fitted.rendered
            stored = self.storage.save_digest(
                day,
                subject=r.subject,
                html=self_contained(r),
                text=r.text,
                markdown=r.markdown,
                now=self.now,
            )
            self.run.composed = stored.created_at == self.now
            self.run.size = fitted.size
        self.run.digest_id = stored.id
        self.run.subject = stored.subject
        self.run.markdown = stored.markdown
        return stored

    def recipients(self) -> tuple[str, ...]:
        """The configured recipients, checked; the outbox copy when there are none."""
        return check_recipients(self.settings.digest_recipients) or (OUTBOX_RECIPIENT,)

    def deliver(self, stored: StoredDigest | None) -> DigestRun:
        """Add this digest's deliveries, then send every delivery that is due."""
        domain = sender_address(self.settings.smtp_from).domain
        if stored is not None:
            self.storage.add_deliveries(
                stored.id,
                [(r, message_id(stored.day, r, domain)) for r in self.recipients()],
            )
        stale_before = self.now - dt.timedelta(minutes=self.settings.digest_claim_minutes)
        day = dt.date.fromisoformat(self.run.day) if self.run.day else self.now.date()
        due = self.storage.deliveries_due(
            since=day - dt.timedelta(days=RETRY_DAYS), stale_before=stale_before
        )
        digests = {stored.id: stored} if stored is not None else {}
        config = smtp_config(self.settings)
        handled: set[int] = set()
        with SmtpSender(config, self.tls_context) if config else _NoSender() as sender:
            for d in due:
                token = self.storage.claim_delivery(d.id, now=self.now, stale_before=stale_before)
                if token is None:
                    continue  # taken by another run since the list was read
                handled.add(d.id)
                if d.digest_id not in digests:
                    found = self.storage.stored_digest(digest_id=d.digest_id)
                    assert found is not None  # a delivery's digest is never deleted alone
                    digests[d.digest_id] = found
                try:
                    self._send(digests[d.digest_id], d, sender, config)
                except MailError as exc:
                    self.storage.release_delivery(d.id, attempt=token, error=str(exc))
                    self.run.failed.append((_who(d), str(exc)))
                    continue
                self.storage.mark_delivered(d.id, attempt=token, now=self.now)
        if stored is not None:
            for d in self.storage.deliveries(stored.id):
                if d.id in handled:
                    continue
                if d.status == DeliveryStatus.SENT:
                    self.run.already_sent.append(_who(d))
                elif d.status == DeliveryStatus.SENDING:
                    self.run.in_flight.append(_who(d))
        return self.run

    def _send(
        self,
        digest: StoredDigest,
        d: Delivery,
        sender: SmtpSender | _NoSender,
        config: SmtpConfig | None,
    ) -> None:
        recipient = None if d.recipient == OUTBOX_RECIPIENT else d.recipient
        msg = build_message(
            subject=digest.subject,
            html_document=digest.html,
            text=digest.text,
            sender=self.settings.smtp_from,
            recipient=recipient,
            msg_id=d.message_id,
            date=digest.created_at,
            day=digest.day,
        )
        if _by_smtp(d, config) and isinstance(sender, SmtpSender):
            sender.send(msg, d.recipient)
            self.run.sent.append(_who(d))
            return
        eml, html = outbox_paths(self.settings.outbox_dir, digest.day, recipient)
        try:
            write_atomic(html, digest.html.encode("utf-8"))
            write_atomic(eml, msg.as_bytes())
        except OSError as exc:
            raise MailError(f"cannot write the outbox file {eml}: {exc.strerror or exc}") from exc
        self.run.written.append(str(eml))


class _NoSender:
    """Stands in for an SMTP connection when every delivery goes to the outbox."""

    def __enter__(self) -> _NoSender:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _by_smtp(d: Delivery, config: SmtpConfig | None) -> bool:
    return config is not None and d.recipient != OUTBOX_RECIPIENT


def _who(d: Delivery) -> str:
    return f"{d.recipient} ({d.day.isoformat()})"


class DigestNotDue(JirgaError):
    """The digest of a day that is not over yet (or not due yet) was asked for."""


def check_due(day: dt.date, settings: Settings, now: dt.datetime) -> None:
    """Refuse to send the digest of a day before it is due (its articles are still coming)."""
    due = due_at(day, settings.tz, settings.digest_time)
    if now < due:
        raise DigestNotDue(
            f"the digest of {day} is due at {due.astimezone(settings.tz):%Y-%m-%d %H:%M} "
            f"({settings.timezone}); `jirga digest --date {day} --preview` shows it now"
        )


def run_digest(
    settings: Settings,
    *,
    day: dt.date | None = None,
    now: dt.datetime | None = None,
    tls_context: ssl.SSLContext | None = None,
    compose: Callable[[DigestRunner, dt.date], StoredDigest | None] | None = None,
    deliver: Callable[[DigestRunner, StoredDigest | None], DigestRun] | None = None,
) -> DigestRun:
    """One digest run under the digest lease. ``compose`` and ``deliver`` default to the
    runner's own methods; the Prefect flow passes them wrapped as tasks."""
    now = now or dt.datetime.now(dt.UTC)
    day = day or due_day(now, settings.tz, settings.digest_time)
    check_due(day, settings, now)
    watchlist = load_watchlist(settings.config_dir)
    check_recipients(settings.digest_recipients)  # a bad address stops the run before any work
    sender_address(settings.smtp_from)
    with Storage(settings.effective_database_url) as storage:
        storage.require_current_schema()
        with lease(storage, DIGEST_LEASE, now, DIGEST_TIMEOUT) as holder:
            runner = DigestRunner(storage, settings, watchlist, now, tls_context)
            runner.run.day = day.isoformat()
            if holder is None:
                runner.run.skipped = (
                    f"another digest run is in progress ({storage.lock_holder(DIGEST_LEASE)})"
                )
                return runner.run
            stored = (compose or DigestRunner.compose)(runner, day)
            return (deliver or DigestRunner.deliver)(runner, stored)
