"""An independent check of digest HTML: parsed with the standard library's parser (not nh3), every
tag, attribute, link and image is held against what an email that cannot run anything may hold."""

from __future__ import annotations

import re
from html.parser import HTMLParser

ALLOWED_TAGS = {
    "html", "head", "meta", "title", "body", "table", "tbody", "tr", "td", "th", "div", "span",
    "p", "h2", "a", "img", "br", "strong", "ul", "li",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "background", "poster", "xlink:href"}
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


class _Audit(HTMLParser):
    def __init__(self, images: str) -> None:
        super().__init__(convert_charrefs=True)
        self.images = images
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"event handler {name} on <{tag}>")
            if name in {"class", "id", "srcset", "formaction", "action", "background"}:
                self.problems.append(f"attribute {name} on <{tag}>")
            if name == "style" and re.search(r"url\(|expression|@import|behavior", value, re.I):
                self.problems.append(f"style {value!r}")
            if name in URL_ATTRIBUTES:
                self._url(tag, name, value)

    def _url(self, tag: str, name: str, value: str) -> None:
        if tag == "img" and name == "src":
            if not value.startswith(self.images):
                self.problems.append(f"image source {value[:60]!r}")
        elif tag == "a" and name == "href":
            if not re.match(r"https?://[^\s/]", value):
                self.problems.append(f"link {value!r}")
        else:
            self.problems.append(f"url attribute {name} on <{tag}>")

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"comment {data[:40]!r}")

    def handle_decl(self, decl: str) -> None:
        if decl.lower() != "doctype html":
            self.problems.append(f"declaration {decl!r}")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"declaration {data[:40]!r}")

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"processing instruction {data!r}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def audit(html: str, *, images: str = "cid:") -> list[str]:
    """What in ``html`` could run, load, submit or mislead; empty when nothing. ``images``: the
    only prefix an image source may have (``cid:`` in the email, ``data:image/png`` stored)."""
    parser = _Audit(images)
    parser.feed(html)
    parser.close()
    problems = parser.problems
    if BIDI_CONTROLS.search(html):
        problems.append("bidi control character")
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", html):
        problems.append("control character")
    return problems


def visible_text(html: str) -> str:
    """The text a reader sees (entities decoded)."""
    parser = _Audit("")
    parser.feed(html)
    return "".join(parser.text)
