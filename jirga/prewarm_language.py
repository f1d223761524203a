"""Imported by the worker pool's fork server when some feed mixes languages: loads the language
model once, before the workers are forked, so they share its pages instead of each loading
its own (about 60 MB apiece)."""

from __future__ import annotations

from jirga import language

language.load_model()
