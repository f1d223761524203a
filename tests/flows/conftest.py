"""Fixtures of the flow tests: a real HTTP server on 127.0.0.1 serving feed bytes from a table of
routes that a test can change between polls, and a jirga environment in a temporary folder."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Route:
    """What the server answers on one path."""

    status: int = 200
    body: bytes | Callable[[], Iterable[bytes]] = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunk_delay: float = 0.0  # seconds between body chunks (a trickling server)
    honour_etag: bool = True  # answer 304 when If-None-Match matches the ETag header


class FeedServer:
    """A threaded loopback server; ``routes`` maps a path to its Route, ``hits`` counts requests."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with server.lock:
                    server.hits[path] = server.hits.get(path, 0) + 1
                    route = server.routes.get(path)
                if route is None:
                    self._send(404, {}, b"not found")
                    return
                etag = route.headers.get("ETag")
                if route.honour_etag and etag and self.headers.get("If-None-Match") == etag:
                    self._send(304, {"ETag": etag}, b"")
                    return
                try:
                    if callable(route.body):
                        self.send_response(route.status)
                        for k, v in route.headers.items():
                            self.send_header(k, v)
                        self.send_header("Connection", "close")
                        self.end_headers()
                        for chunk in route.body():
                            self.wfile.write(chunk)
                            self.wfile.flush()
                            if route.chunk_delay:
                                time.sleep(route.chunk_delay)
                        self.close_connection = True
                        return
                    self._send(route.status, route.headers, route.body)
                except (BrokenPipeError, ConnectionResetError, TimeoutError):
                    self.close_connection = True

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture
def jirga_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with its own config copy and data dir, and a JIRGA_* environment pointing there."""
    for key in list(os.environ):
        if key.startswith("JIRGA_"):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    shutil.copytree(ROOT / "config", home / "config")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JIRGA_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("JIRGA_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("JIRGA_ALLOW_PRIVATE_NETWORKS", "true")
    return home
