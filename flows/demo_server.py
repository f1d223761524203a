"""The demo's feed server: the sample outlets' documents on 127.0.0.1, one day at a time.

A real HTTP server on a free loopback port, so the demo's polls go through the real fetcher
(conditional GET, size caps, charset handling). It answers like a well-behaved publisher except
where an outlet declares a fault: an ETag and Last-Modified on every document, 304 Not Modified
when the client already holds the day's bytes. It serves from daemon threads and stops when its
``with`` block ends, so no demo leaves a server behind.
"""

from __future__ import annotations

import email.utils
import hashlib
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from jirga.demo.corpus import Corpus, Outlet
from jirga.demo.feeds import DemoWeek, answer

__all__ = ["DemoFeedServer"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client closing a kept-alive connection between polls is not an error worth a
        # traceback on the demo's terminal; anything else still gets one.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class DemoFeedServer:
    """Serves ``corpus`` as it reads on the demo day set by :meth:`show`."""

    def __init__(self, corpus: Corpus, week: DemoWeek) -> None:
        self.corpus = corpus
        self.week = week
        self._day = 0
        self._lock = threading.Lock()
        self.requests: dict[str, int] = {}  # outlet id -> requests, for the demo's report
        self._by_path: dict[str, Outlet] = {o.path: o for o in corpus.outlets}
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="jirga-demo-feeds", daemon=True
        )

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def show(self, day: int) -> None:
        """Serve every feed as it reads at the poll of ``day``."""
        with self._lock:
            self._day = day

    def __enter__(self) -> DemoFeedServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def _respond(self, path: str, if_none_match: str | None) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            day = self._day
            outlet = self._by_path.get(path)
            if outlet is not None:
                self.requests[outlet.id] = self.requests.get(outlet.id, 0) + 1
        if outlet is None:
            return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found\n"
        got = answer(outlet, day, self.week)
        headers = {"Content-Type": got.content_type}
        if got.status != 200:
            return got.status, headers, got.body
        etag = '"' + hashlib.blake2b(got.body, digest_size=12).hexdigest() + '"'
        headers["ETag"] = etag
        if got.last_modified is not None:
            headers["Last-Modified"] = email.utils.format_datetime(got.last_modified, usegmt=True)
        if if_none_match is not None and etag in (t.strip() for t in if_none_match.split(",")):
            return 304, {"ETag": etag}, b""
        return 200, headers, got.body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def log_message(self, format: str, *args: object) -> None:
                pass  # the demo reports what each poll got; a line per request is noise

            def do_GET(self) -> None:
                status, headers, body = server._respond(
                    self.path.split("?", 1)[0], self.headers.get("If-None-Match")
                )
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError, TimeoutError):
                    self.close_connection = True

        return Handler
