"""Imported by the worker pool's fork server when some feed mixes languages: loads the language
model once, before the workers are forked, so they share it instead of each loading its own
(mapped from its cache file, see :mod:`jirga.langid_model`; the first time, from py3langid's
package)."""

from __future__ import annotations

from jirga import language

language.load_model()
