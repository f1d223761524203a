"""A digest that fits its size cap: built, rendered and measured as the email it will be, and
built again with shorter lists until it fits.

Each item is already capped (titles, passages, phrases); the total cap trims the lists — articles
per narrative, narratives, other articles, outlets — most important kept first, and the digest
says how much it left out. The measure is the whole MIME message, base64 charts and
quoted-printable text included.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from jirga.digest_content import Digest, DigestLimits
from jirga.digest_data import DigestSource
from jirga.digest_model import build_digest
from jirga.digest_render import RenderedDigest, render_digest, self_contained
from jirga.lifecycle import LifecyclePolicy
from jirga.mail import build_message
from jirga.spikes import SpikePolicy

__all__ = ["DEFAULT_MAX_BYTES", "FittedDigest", "fit_digest", "message_size"]

DEFAULT_MAX_BYTES = 700_000  # "well under 1 MB", with room for headers a relay adds
_MAX_ROUNDS = 8
_FLOOR = DigestLimits(
    max_narratives=3,
    max_articles_per_narrative=3,
    max_other_articles=5,
    max_outlets=5,
    outlets_per_narrative=3,
    key_phrases=3,
    title_chars=160,
    passage_chars=200,
)


@dataclasses.dataclass(frozen=True)
class FittedDigest:
    """A digest, its rendering, and the size of its email in bytes."""

    digest: Digest
    rendered: RenderedDigest
    size: int


def message_size(rendered: RenderedDigest) -> int:
    """Bytes of the email a rendering makes (to a typical address)."""
    msg = build_message(
        subject=rendered.subject,
        html_document=self_contained(rendered),
        text=rendered.text,
        sender="jirga <jirga@localhost.localdomain>",
        recipient="recipient@localhost.localdomain",
        msg_id=f"<digest.{rendered.day.isoformat()}.00000000000000000000@localhost.localdomain>",
        date=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        day=rendered.day,
    )
    return len(msg.as_bytes())


def _smaller(limits: DigestLimits) -> DigestLimits:
    """Shorter lists, never below the floor."""
    f = _FLOOR
    return dataclasses.replace(
        limits,
        max_narratives=max(limits.max_narratives * 2 // 3, f.max_narratives),
        max_articles_per_narrative=max(
            limits.max_articles_per_narrative // 2, f.max_articles_per_narrative
        ),
        max_other_articles=max(limits.max_other_articles // 2, f.max_other_articles),
        max_outlets=max(limits.max_outlets // 2, f.max_outlets),
        outlets_per_narrative=max(limits.outlets_per_narrative // 2, f.outlets_per_narrative),
        key_phrases=max(limits.key_phrases - 1, f.key_phrases),
        title_chars=max(limits.title_chars * 3 // 4, f.title_chars),
        passage_chars=max(limits.passage_chars * 3 // 4, f.passage_chars),
    )


def fit_digest(
    source: DigestSource,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    limits: DigestLimits | None = None,
    lifecycle: LifecyclePolicy | None = None,
    spikes: SpikePolicy | None = None,
) -> FittedDigest:
    """The digest of ``source`` under ``max_bytes`` if the floor of the lists allows it (if not,
    the smallest one: a day that big still gets its digest, with most of it left out)."""
    limits = limits or DigestLimits()
    fitted: FittedDigest | None = None
    for _ in range(_MAX_ROUNDS):
        digest = build_digest(source, limits=limits, lifecycle=lifecycle, spikes=spikes)
        rendered = render_digest(digest)
        fitted = FittedDigest(digest, rendered, message_size(rendered))
        smaller = _smaller(limits)
        if fitted.size <= max_bytes or smaller == limits:
            break
        limits = smaller
    assert fitted is not None
    return fitted
