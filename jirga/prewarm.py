"""Imported once by the worker pool's fork server: builds the per-process tables of the
pipeline before any worker is forked, so every worker starts with them (shared copy-on-write
pages) instead of spending a second or two building its own."""

from __future__ import annotations

from jirga import arabic, language, pipeline  # noqa: F401 - imported for their side effects

# The folding tables the matcher and the dedup normaliser use, and the language model.
arabic.normalize("warm")
arabic.normalize("warm", casefold=False)
language._identifier()
