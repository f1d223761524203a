"""The routes of the hostile poll: what each hostile feed's path serves on the second poll."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.flows import hostile_docs as docs


def hostile_routes(route: Callable[..., Any], base: str, port: int, bomb: bytes) -> dict[str, Any]:
    """Feed id → Route (built with ``route``, the server fixture's Route class) of each hostile
    case; ``base`` and ``port`` are the test server's, ``bomb`` the gzip bomb's bytes."""
    rss_type = {"Content-Type": "application/rss+xml; charset=utf-8"}
    return {
        "h-laughs": route(body=docs.billion_laughs()),
        "h-bigentity": route(body=docs.big_entity()),
        "h-xxe-file": route(body=docs.external_entity("file:///etc/passwd", "file")),
        "h-xxe-http": route(body=docs.external_entity(f"{base}/secret", "http")),
        "h-huge": route(body=docs.endless_body()),
        "h-gzip": route(body=bomb, headers={"Content-Encoding": "gzip"}),
        "h-trickle": route(
            body=docs.trickle(docs.good_feed("h-trickle", 5), pieces=60), chunk_delay=0.25
        ),
        "h-loop": route(status=302, headers={"Location": "/h-loop-b.xml"}),
        "h-redir-lo": route(status=302, headers={"Location": f"http://127.0.0.2:{port}/x.xml"}),
        "h-redir-10": route(status=301, headers={"Location": "http://10.0.0.1/feed.xml"}),
        "h-redir-v6": route(status=307, headers={"Location": f"http://[::1]:{port}/x.xml"}),
        "h-redir-file": route(status=302, headers={"Location": "file:///etc/passwd"}),
        "h-1256": route(body=docs.windows_1256_labelled_utf8(), headers=rss_type),
        "h-badbyte": route(body=docs.one_bad_byte(), headers=rss_type),
        "h-ctrl": route(body=docs.control_characters(), headers=rss_type),
        "h-script": route(body=docs.scripts_rss(), headers=rss_type),
        "h-atom": route(body=docs.scripts_atom(), headers={"Content-Type": "application/atom+xml"}),
        "h-dates": route(body=docs.absurd_dates(), headers=rss_type),
        "h-guids": route(body=docs.guid_trouble(), headers=rss_type),
        "h-empty": route(body=b"", headers=rss_type),
        "h-htmlpage": route(body=docs.HTML_ERROR_PAGE, headers={"Content-Type": "text/html"}),
        "h-truncated": route(body=docs.truncated("h-truncated"), headers=rss_type),
        "h-429": route(status=429, headers={"Retry-After": "120"}),
        "h-410": route(status=410, body=b"gone"),
    }
