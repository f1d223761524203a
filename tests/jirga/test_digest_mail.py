"""The digest email against a real SMTP server on 127.0.0.1: its MIME structure, both parts,
inline charts, headers and envelope; STARTTLS and implicit TLS with certificate verification;
refused logins and unreachable servers as clear errors."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from email.message import EmailMessage

import pytest

from jirga.digest_model import build_digest
from jirga.digest_render import render_digest, self_contained
from jirga.mail import (
    MailError,
    SmtpConfig,
    SmtpSender,
    build_message,
    check_recipients,
    header_value,
    message_id,
)
from tests.jirga.digest_samples import DAY, GENERATED, ordinary_source
from tests.mailserver import free_port, mail_server

SENDER = "jirga digest <digest@jirga.example>"
RECIPIENT = "analyst@example.org"


@pytest.fixture(scope="module")
def rendered_html() -> tuple[str, str, str]:
    r = render_digest(build_digest(ordinary_source()))
    return r.subject, self_contained(r), r.text


def _message(rendered: tuple[str, str, str], recipient: str = RECIPIENT) -> EmailMessage:
    subject, html, text = rendered
    return build_message(
        subject=subject,
        html_document=html,
        text=text,
        sender=SENDER,
        recipient=recipient,
        msg_id=message_id(DAY, recipient, "jirga.example"),
        date=GENERATED,
        day=DAY,
    )


def _config(port: int, tls: str = "none", **kw: object) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, tls=tls, sender=SENDER, timeout=10, **kw)  # type: ignore[arg-type]


def test_message_over_plain_smtp_has_the_documented_structure(
    rendered_html: tuple[str, str, str],
) -> None:
    with mail_server() as server, SmtpSender(_config(server.port)) as sender:
        sender.send(_message(rendered_html), RECIPIENT)
        got = server.inbox.received()
    assert len(got) == 1
    assert got[0].mail_from == "digest@jirga.example"
    assert got[0].rcpt_tos == (RECIPIENT,)
    msg = got[0].message
    assert msg["To"] == RECIPIENT
    assert msg["From"] == SENDER
    assert msg["Subject"] == rendered_html[0]
    assert msg["Message-ID"] == message_id(DAY, RECIPIENT, "jirga.example")
    assert msg["Message-ID"].endswith("@jirga.example>")
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Jirga-Digest"] == "2026-03-03"
    assert msg["Date"] == "Wed, 04 Mar 2026 02:00:00 +0000"
    # multipart/alternative: text first, then related(html + its images).
    assert msg.get_content_type() == "multipart/alternative"
    text_part, related = list(msg.iter_parts())
    assert text_part.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    assert related.get_param("type") == "text/html"
    html_part, *images = list(related.iter_parts())
    assert html_part.get_content_type() == "text/html"
    text = text_part.get_content()
    html = html_part.get_content()
    assert "Jirga formed for talks with TTP" in text and "Jirga formed for talks with TTP" in html
    assert "data:" not in html  # every chart is a part of the message, not an inline URI
    assert images and all(p.get_content_type() == "image/png" for p in images)
    for part in images:
        cid = part["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html
        assert part.get_content_disposition() == "inline"
        assert part.get_content().startswith(b"\x89PNG")
    # Every cid the HTML names has its part.
    named = {c.split('"')[0] for c in html.split('src="cid:')[1:]}
    assert named == {p["Content-ID"].strip("<>") for p in images}
    assert "http" not in "".join(c for c in named)


def test_the_same_digest_makes_the_same_bytes(rendered_html: tuple[str, str, str]) -> None:
    one, two = _message(rendered_html).as_bytes(), _message(rendered_html).as_bytes()
    assert one == two
    other = _message(rendered_html, "someone@example.org")
    assert other["Message-ID"] != _message(rendered_html)["Message-ID"]


def test_charts_survive_the_round_trip_through_storage(rendered_html: tuple[str, str, str]) -> None:
    r = render_digest(build_digest(ordinary_source()))
    msg = _message(rendered_html)
    parts = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert {hashlib.sha256(p.get_content()).hexdigest() for p in parts} == {
        hashlib.sha256(i.data).hexdigest() for i in r.images
    }
    stored = self_contained(r)
    for image in r.images:
        assert base64.b64encode(image.data).decode() in stored


def test_starttls_with_a_trusted_certificate_and_login(
    rendered_html: tuple[str, str, str],
) -> None:
    with mail_server(tls="starttls", login=("jirga", "s3cret")) as server:
        config = _config(server.port, "starttls", user="jirga", password="s3cret")
        with SmtpSender(config, server.client_context) as sender:
            sender.send(_message(rendered_html), RECIPIENT)
        assert len(server.inbox.received()) == 1
    assert "s3cret" not in repr(config)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls(rendered_html: tuple[str, str, str]) -> None:
    with mail_server(tls="tls", login=("jirga", "pw")) as server:
        config = _config(server.port, "tls", user="jirga", password="pw")
        with SmtpSender(config, server.client_context) as sender:
            sender.send(_message(rendered_html), RECIPIENT)
        assert len(server.inbox.received()) == 1


def test_the_default_context_verifies_the_certificate(
    rendered_html: tuple[str, str, str],
) -> None:
    # The test authority is not in the system's trust store: Python's default context refuses.
    with mail_server(tls="starttls") as server:
        with SmtpSender(_config(server.port, "starttls")) as sender, pytest.raises(MailError) as e:
            sender.send(_message(rendered_html), RECIPIENT)
        assert server.inbox.received() == []
    assert "certificate not trusted" in str(e.value)
    assert not e.value.transient


def test_a_refused_login_is_a_clear_error(rendered_html: tuple[str, str, str]) -> None:
    with mail_server(tls="starttls", login=("jirga", "right")) as server:
        config = _config(server.port, "starttls", user="jirga", password="wrong")
        with SmtpSender(config, server.client_context) as sender:
            with pytest.raises(MailError) as e:
                sender.send(_message(rendered_html), RECIPIENT)
            with pytest.raises(MailError) as again:  # the sender does not try again
                sender.send(_message(rendered_html), RECIPIENT)
        assert server.inbox.received() == []
    assert "login as 'jirga' refused (535" in str(e.value)
    assert "wrong" not in str(e.value)
    assert again.value is e.value


def test_starttls_missing_is_refused_not_downgraded(rendered_html: tuple[str, str, str]) -> None:
    with mail_server() as server:
        with SmtpSender(_config(server.port, "starttls")) as sender, pytest.raises(MailError) as e:
            sender.send(_message(rendered_html), RECIPIENT)
        assert server.inbox.received() == []
    assert "does not offer STARTTLS" in str(e.value)


def test_no_password_over_plain_text(rendered_html: tuple[str, str, str]) -> None:
    with mail_server() as server:
        config = _config(server.port, "none", user="jirga", password="pw")
        with SmtpSender(config) as sender, pytest.raises(MailError) as e:
            sender.send(_message(rendered_html), RECIPIENT)
        assert server.inbox.received() == []
    assert "without TLS" in str(e.value)


def test_an_unreachable_server_is_transient(rendered_html: tuple[str, str, str]) -> None:
    with SmtpSender(_config(free_port())) as sender, pytest.raises(MailError) as e:
        sender.send(_message(rendered_html), RECIPIENT)
    assert e.value.transient
    assert "cannot reach SMTP server 127.0.0.1" in str(e.value)


def test_a_refused_message_names_the_reply(rendered_html: tuple[str, str, str]) -> None:
    with mail_server() as server:
        server.inbox.refuse = "451 4.3.0 try again later"
        with SmtpSender(_config(server.port)) as sender, pytest.raises(MailError) as e:
            sender.send(_message(rendered_html), RECIPIENT)
    assert "451" in str(e.value) and e.value.transient


def test_addresses_and_headers_are_checked() -> None:
    assert check_recipients(["A <a@example.org>", "a@example.org", "b@example.org"]) == (
        "a@example.org",
        "b@example.org",
    )
    for bad in ["nobody", "a@example.org, b@example.org", "a@example.org\r\nBcc: x@example.org"]:
        with pytest.raises(MailError):
            check_recipients([bad])
    assert header_value("a\r\nBcc: x\u202e\x00y") == "a Bcc: x y"


def test_message_ids_are_stable_and_distinct() -> None:
    a = message_id(DAY, "a@example.org", "Example.ORG")
    assert a == message_id(DAY, "A@example.org", "example.org")
    assert a != message_id(DAY + dt.timedelta(days=1), "a@example.org", "example.org")
    assert a.startswith("<digest.2026-03-03.") and a.endswith("@example.org>")
