"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd in a thread of the test process),
optionally with STARTTLS or implicit TLS on a certificate from a test authority (trustme) and a
login, keeping every message it accepts."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Received:
    """One message the server accepted: envelope and bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Inbox:
    """The handler: keeps messages; ``on_data`` runs after a message is kept and before the
    server answers (a test uses it to kill the sender at exactly that moment)."""

    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_data: Callable[[Received], None] | None = None
    refuse: str | None = None  # an SMTP reply to give to DATA instead of accepting

    async def handle_DATA(self, server: Any, smtp_state: Any, envelope: Any) -> str:
        if self.refuse:
            return self.refuse
        got = Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
        with self.lock:
            self.messages.append(got)
        if self.on_data is not None:
            self.on_data(got)
        return "250 Message accepted for delivery"

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.messages)


@dataclass
class MailServer:
    """A running server: where it listens, what it received, and how to trust it."""

    host: str
    port: int
    inbox: Inbox
    client_context: ssl.SSLContext | None  # trusts the test authority


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@contextmanager
def mail_server(
    *,
    tls: str = "none",  # "none", "starttls", "tls"
    login: tuple[str, str] | None = None,
    inbox: Inbox | None = None,
    port: int | None = None,
) -> Iterator[MailServer]:
    """An SMTP server for the block. ``login``: (user, password) it accepts, and requires."""
    inbox = inbox or Inbox()
    ca = trustme.CA() if tls != "none" else None
    kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": port or free_port()}
    if ca is not None and tls == "starttls":
        kwargs.update(tls_context=_server_context(ca), require_starttls=True)
    if ca is not None and tls == "tls":
        # aiosmtpd only counts STARTTLS as TLS; the socket itself is TLS here.
        kwargs.update(ssl_context=_server_context(ca), auth_require_tls=False)
    if login is not None:

        def authenticator(
            server: Any, smtp_state: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and (
                    data.login.decode(),
                    data.password.decode(),
                )
                == login
            )
            # handled=False: aiosmtpd answers 535 itself (True would leave the client waiting).
            return AuthResult(success=ok, handled=False)

        kwargs.update(authenticator=authenticator, auth_required=True)
    controller = Controller(inbox, **kwargs)
    controller.start()
    try:
        yield MailServer(
            "127.0.0.1", kwargs["port"], inbox, client_context(ca) if ca is not None else None
        )
    finally:
        controller.stop()
