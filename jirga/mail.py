"""The digest as an email, and its journey to an SMTP server.

The message is ``multipart/alternative``: the plain text first, then ``multipart/related``
holding the HTML and its charts as inline PNG parts (``Content-ID``, ``Content-Disposition:
inline``), so no client has to fetch anything. The same digest to the same recipient always
gives the same bytes: the Message-ID comes from the day, the recipient and the sender's domain,
the Date from when the digest was stored, and the MIME boundaries from the Message-ID. A mail
system that receives a resent copy can see it is the same message.

Sending uses TLS with certificate and host name verification (Python's default context):
``starttls`` refuses a server that does not offer STARTTLS rather than falling back to plain
text, and a password is never sent over a connection without TLS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from types import TracebackType
from typing import Literal, cast

from jirga.digest_render import split_images
from jirga.errors import JirgaError

__all__ = [
    "OUTBOX_RECIPIENT",
    "MailError",
    "SmtpConfig",
    "SmtpSender",
    "build_message",
    "check_recipients",
    "header_value",
    "message_id",
    "sender_address",
]

#: The one delivery of a digest when no recipient is configured: a copy in the outbox folder.
OUTBOX_RECIPIENT = "outbox"
_REGISTRY = HeaderRegistry()
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]")


class MailError(JirgaError):
    """A digest could not be handed to the SMTP server (or the mail settings are wrong).

    ``transient`` is set when the same send may succeed later: the server is down, busy or
    timing out. A refused login or a certificate that is not trusted are not transient.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def header_value(text: str) -> str:
    """A header value with control characters (CR and LF among them) and bidi controls removed."""
    return " ".join(_CONTROLS.sub(" ", text).split())


def _address(text: str, what: str) -> Address:
    value = header_value(text)
    try:
        header = _REGISTRY("To", value)
        addresses = cast(AddressHeader, header).addresses
    except (ValueError, IndexError, TypeError) as exc:
        raise MailError(f"{what}: {value!r} is not an email address ({exc})") from exc
    if len(addresses) != 1 or not addresses[0].username or not addresses[0].domain:
        raise MailError(f"{what}: {value!r} is not one email address")
    if header.defects:
        raise MailError(f"{what}: {value!r} is not a well-formed email address")
    return addresses[0]


def sender_address(text: str) -> Address:
    """The From address of the settings, checked."""
    return _address(text, "JIRGA_SMTP_FROM")


def check_recipients(recipients: Sequence[str]) -> tuple[str, ...]:
    """The recipients' bare addresses (``user@host``), each checked, duplicates dropped."""
    out: dict[str, None] = {}
    for text in recipients:
        out[_address(text, "JIRGA_DIGEST_RECIPIENTS").addr_spec] = None
    return tuple(out)


def message_id(day: dt.date, recipient: str, domain: str) -> str:
    """The Message-ID of the digest of ``day`` to ``recipient``: the same on every resend."""
    digest = hashlib.sha256(f"{day.isoformat()}\x1f{recipient.lower()}".encode()).hexdigest()
    return f"<digest.{day.isoformat()}.{digest[:20]}@{domain.lower()}>"


def build_message(
    *,
    subject: str,
    html_document: str,
    text: str,
    sender: str,
    recipient: str | None,
    msg_id: str,
    date: dt.datetime,
    day: dt.date,
) -> EmailMessage:
    """The digest email (see the module docstring). ``html_document`` is the stored HTML with
    its charts as ``data:`` URIs; they become inline parts. ``recipient`` None: addressed to
    nobody in particular (an outbox copy)."""
    html_cid, images = split_images(html_document)
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["Subject"] = header_value(subject)
    msg["From"] = sender_address(sender)
    msg["To"] = (
        _address(recipient, "recipient") if recipient is not None else "undisclosed-recipients:;"
    )
    msg["Date"] = format_datetime(date.astimezone(dt.UTC))
    msg["Message-ID"] = msg_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Jirga-Digest"] = day.isoformat()
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html_cid, subtype="html", charset="utf-8", cte="quoted-printable")
    html_part = list(msg.iter_parts())[1]
    assert isinstance(html_part, MIMEPart)
    for image in images:
        html_part.add_related(
            image.data,
            maintype="image",
            subtype="png",
            cid=f"<{image.cid}>",
            disposition="inline",
            filename=image.filename,
        )
    if images:  # the part is multipart/related now; RFC 2387 names its root's type
        html_part.set_param("type", "text/html")
    # Boundaries of their own would differ on every build; these are fixed by the Message-ID
    # and, starting with "=_", cannot occur in quoted-printable or base64 bodies.
    seed = hashlib.sha256(msg_id.encode()).hexdigest()[:24]
    for index, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"=_jirga_{seed}_{index}")
    return msg


# --- SMTP --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to hand digests over. ``password`` is kept out of ``repr``."""

    host: str
    port: int
    tls: Literal["starttls", "tls", "none"]
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 60.0


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return header_value(value or "")


def _reason(config: SmtpConfig, exc: BaseException) -> MailError:
    where = f"SMTP server {config.host}:{config.port}"
    if isinstance(exc, MailError):
        return exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailError(f"{where}: TLS certificate not trusted ({exc.verify_message})")
    if isinstance(exc, ssl.SSLError):
        return MailError(f"{where}: TLS failed ({exc.reason or exc})")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        detail = _text(exc.smtp_error)
        return MailError(f"{where}: login as {config.user!r} refused ({exc.smtp_code} {detail})")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [
            f"{rcpt} refused ({code} {_text(text)})"
            for rcpt, (code, text) in exc.recipients.items()
        ]
        return MailError(f"{where}: " + "; ".join(parts), transient=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = _text(exc.smtp_error)
        return MailError(
            f"{where} answered {exc.smtp_code} {detail}".rstrip(),
            transient=400 <= exc.smtp_code < 500,
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return MailError(f"{where} closed the connection ({exc})", transient=True)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return MailError(f"{where}: {exc}")
    if isinstance(exc, TimeoutError | socket.timeout):
        return MailError(f"{where} did not answer within {config.timeout:g} s", transient=True)
    if isinstance(exc, OSError):
        return MailError(
            f"cannot reach {where}: {exc.strerror or exc.__class__.__name__}", transient=True
        )
    return MailError(f"{where}: {exc.__class__.__name__}: {exc}")


class SmtpSender:
    """One SMTP connection for a run, opened on the first message and closed at the end.

    ``context`` replaces Python's default TLS context (tests pass one that trusts their own
    certificate authority); verification stays on either way.
    """

    def __init__(self, config: SmtpConfig, context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.context = context
        self._smtp: smtplib.SMTP | None = None
        self.connect_error: MailError | None = None

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        context = self.context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if c.tls == "tls":
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=context)
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        try:
            smtp.ehlo()
            if c.tls == "starttls":
                if not smtp.has_extn("starttls"):
                    raise MailError(
                        f"SMTP server {c.host}:{c.port} does not offer STARTTLS; "
                        "not sending without TLS (JIRGA_SMTP_TLS=none allows it)"
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if c.user:
                if c.tls == "none":
                    raise MailError(
                        "not sending the SMTP password without TLS: set JIRGA_SMTP_TLS to "
                        "starttls or tls, or unset JIRGA_SMTP_USER"
                    )
                if c.password is None:
                    raise MailError("JIRGA_SMTP_USER is set but JIRGA_SMTP_PASSWORD is not")
                smtp.login(c.user, c.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    @property
    def connected(self) -> bool:
        """Whether a connection is open."""
        return self._smtp is not None

    def send(self, msg: EmailMessage, recipient: str) -> None:
        """Hand one message for one recipient to the server; MailError when it is not taken.

        When the server cannot be reached (or refuses the login, or its certificate), every
        later send through this sender fails at once with the same error instead of trying again.
        """
        if self._smtp is None:
            if self.connect_error is not None:
                raise self.connect_error
            try:
                self._smtp = self._connect()
            except Exception as exc:
                self.connect_error = _reason(self.config, exc)
                raise self.connect_error from exc
        try:
            envelope_from = sender_address(self.config.sender).addr_spec
            self._smtp.send_message(msg, from_addr=envelope_from, to_addrs=[recipient])
        except Exception as exc:
            error = _reason(self.config, exc)
            if not isinstance(exc, smtplib.SMTPRecipientsRefused):
                self.close()  # the connection is in an unknown state: the next send reconnects
            raise error from exc

    def close(self) -> None:
        """Close the connection politely if there is one."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
