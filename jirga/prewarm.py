"""Imported once by the worker pool's fork server: builds the per-process tables of the
pipeline before any worker is forked, so every worker starts with them (shared copy-on-write
pages) instead of spending a second or two building its own.

The language model is not among them: only feeds tagged as mixing languages need it, so the
fork server loads it (:mod:`jirga.prewarm_language`) only when some feed is."""

from __future__ import annotations

from jirga import arabic, pipeline, unchanged  # noqa: F401 - imported for their side effects

# The folding tables the matcher and the dedup normaliser use.
arabic.normalize("warm")
arabic.normalize("warm", casefold=False)
# What the entry digests are keyed with (the engine's sources are read for it).
unchanged.code_fingerprint()
