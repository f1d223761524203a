"""The per-document pipeline on every core: :class:`jirga.pipeline.Stages` inside worker processes.

Each worker builds the stages (the matcher, the language detector) once; the parent hands it one
fetched body at a time and gets back only the entries that mention a watch term. A document that
hangs, exhausts its memory limit or crashes its worker fails alone, as a DocumentResult with an
error, and the poll goes on.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

from jirga.dedup import DedupConfig
from jirga.pipeline import Caps, DocumentResult, Source, Stages
from jirga.types import Term
from jirga.workerpool import WorkerPool

K = TypeVar("K")
# body, headers, source, fetch time, the entry digests kept from the last poll (see
# Stages.process_document).
DocumentPayload = tuple[bytes, Mapping[str, str], Source, dt.datetime, bytes | None]
_MIB = 1 << 20


def _document_job(
    terms: tuple[Term, ...], caps: Caps, dedup: DedupConfig
) -> Callable[[DocumentPayload], DocumentResult]:
    stages = Stages(terms, caps=caps, dedup=dedup)

    def run(payload: DocumentPayload) -> DocumentResult:
        body, headers, source, fetched_at, seen = payload
        return stages.process_document(body, headers, source, fetched_at, seen)

    return run


def _failure(reason: str) -> DocumentResult:
    return DocumentResult(error=reason)


class DocumentPool(WorkerPool[DocumentPayload, DocumentResult]):
    """Parse, normalise, match and fingerprint fetched documents on several cores."""

    def __init__(
        self,
        terms: tuple[Term, ...],
        *,
        caps: Caps,
        dedup: DedupConfig,
        workers: int | None = None,
        timeout: float = 30.0,
        memory_mb: int | None = 1024,
        start_method: str | None = None,
        detect_languages: bool = False,
    ) -> None:
        """``detect_languages``: some document will need the language model (a feed mixing
        languages), so the fork server loads it once for every worker."""
        preload = ["jirga.prewarm"] + (["jirga.prewarm_language"] if detect_languages else [])
        super().__init__(
            functools.partial(_document_job, terms, caps, dedup),
            _failure,
            workers,
            memory_limit=memory_mb * _MIB if memory_mb else None,
            time_limit=timeout,
            start_method=start_method,
            preload=preload,
        )

    def process_many(
        self, items: Iterable[tuple[K, DocumentPayload]]
    ) -> Iterator[tuple[K, DocumentResult]]:
        """Process ``(key, (body, headers, source, fetched_at, seen))`` items, yielding as each
        finishes (``seen``: see :meth:`Stages.process_document`)."""
        return self.run_many(items)
