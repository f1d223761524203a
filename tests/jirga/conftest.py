"""Fixtures of the fetcher tests: a real threaded HTTP server on 127.0.0.1 whose routes misbehave
on purpose (also over TLS), and a factory of fetchers that are closed after each test."""

from __future__ import annotations

import datetime as dt
import gzip
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from jirga.fetch import Fetcher, FetchLimits, user_agent

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
ETAG = '"v1"'
LAST_MODIFIED = "Mon, 06 May 2024 10:00:00 GMT"
BIG_BODY = 200 * 1024 * 1024  # streamed in pieces, never held
BOMB_DECODED = 128 * 1024 * 1024
TRICKLE_BYTES = 60  # 30 s at one byte per 0.5 s: far longer than any test deadline
HOLD_SECONDS = 0.5  # how long a /slow request waits for a companion to arrive


def _gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzipped in 1 MiB steps so the plain form never exists in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    parts.append(packer.flush())
    return b"".join(parts)


@dataclass
class ServerLog:
    """What the server saw: each request's path and headers, and peak concurrency per group."""

    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    client_ports: list[int] = field(default_factory=list)  # each request's, so its connection
    active: dict[str, int] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)
    lock: threading.Condition = field(default_factory=threading.Condition)
    bomb: bytes = b""

    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _ in self.requests]

    def headers_of(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [headers for p, headers in self.requests if p == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a client that stops reading cannot hold a handler thread for long
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet test output

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        log = self.server.log
        with log.lock:
            log.requests.append((parts.path, {k.lower(): v for k, v in self.headers.items()}))
            log.client_ports.append(self.client_address[1])
        head, _, rest = parts.path.strip("/").partition("/")
        route = getattr(self, f"route_{head.replace('-', '_')}", None)
        if route is None:
            self.reply(404, b"no such route")
            return
        try:
            route(rest, query)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True  # the client gave up, which is what some tests want

    # --- helpers --------------------------------------------------------------------------------

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, status: int, location: str) -> None:
        self.reply(status, b"", {"Location": location})

    # --- routes ---------------------------------------------------------------------------------

    def route_feed(self, rest: str, query: dict[str, str]) -> None:
        validators = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
        if self.headers.get("If-None-Match") == ETAG:
            self.reply(304, b"", validators)
        else:
            self.reply(200, FEED, {"Content-Type": "application/rss+xml", **validators})

    def route_static(self, rest: str, query: dict[str, str]) -> None:
        self.reply(200, FEED, {"Content-Type": "application/rss+xml"})

    def route_cookie(self, rest: str, query: dict[str, str]) -> None:
        # BaseHTTPRequestHandler sends repeated headers as given; a dict holds one per name.
        self.send_response(200)
        self.send_header("Set-Cookie", "session=abc; Path=/")
        self.send_header("Set-Cookie", "tracker=xyz; Domain=127.0.0.1; Path=/; Max-Age=3600")
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def route_status(self, rest: str, query: dict[str, str]) -> None:
        headers = {"Retry-After": query["retry_after"]} if "retry_after" in query else {}
        self.reply(int(rest), b"status body", headers)

    def route_gzip(self, rest: str, query: dict[str, str]) -> None:
        self.reply(200, gzip.compress(FEED), {"Content-Encoding": "gzip"})

    def route_deflate_raw(self, rest: str, query: dict[str, str]) -> None:
        packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        self.reply(200, packer.compress(FEED) + packer.flush(), {"Content-Encoding": "deflate"})

    def route_gzipbomb(self, rest: str, query: dict[str, str]) -> None:
        self.reply(200, self.server.log.bomb, {"Content-Encoding": "gzip"})

    def route_big(self, rest: str, query: dict[str, str]) -> None:
        """200 MiB of generated bytes, with a Content-Length (?length=1) or chunked."""
        piece = b"x" * 65536
        self.send_response(200)
        if "length" in query:
            self.send_header("Content-Length", str(BIG_BODY))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for _ in range(BIG_BODY // len(piece)):
            if "length" in query:
                self.wfile.write(piece)
            else:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        if "length" not in query:
            self.wfile.write(b"0\r\n\r\n")

    def route_trickle_headers(self, rest: str, query: dict[str, str]) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        for _ in range(TRICKLE_BYTES):
            self.wfile.write(b"a")
            self.wfile.flush()
            time.sleep(0.5)
        self.close_connection = True

    def route_trickle_body(self, rest: str, query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(TRICKLE_BYTES))
        self.end_headers()
        for _ in range(TRICKLE_BYTES):
            self.wfile.write(b"a")
            self.wfile.flush()
            time.sleep(0.5)

    def route_loop(self, rest: str, query: dict[str, str]) -> None:
        self.redirect(302, "/loop/b" if rest == "a" else "/loop/a")

    def route_chain(self, rest: str, query: dict[str, str]) -> None:
        """/chain/N redirects N times (301 unless ?code=) before the feed."""
        left = int(rest)
        if left == 0:
            self.reply(200, FEED)
        else:
            code = query.get("code", "301")
            self.redirect(int(code), f"/chain/{left - 1}?code={code}")

    def route_moved(self, rest: str, query: dict[str, str]) -> None:
        """/moved/a --301--> /moved/b --(?second=, 308)--> /static."""
        if rest == "a":
            self.redirect(301, f"/moved/b?second={query.get('second', '308')}")
        else:
            self.redirect(int(query.get("second", "308")), "/static")

    def route_go(self, rest: str, query: dict[str, str]) -> None:
        self.redirect(int(query.get("code", "302")), query["to"])

    def route_slow(self, rest: str, query: dict[str, str]) -> None:
        """Count concurrent requests of group ``rest``; wait (bounded) for a companion, or for
        ``hold`` requests of the group in all."""
        log = self.server.log
        need = int(query.get("hold", "2"))
        with log.lock:
            log.active[rest] = log.active.get(rest, 0) + 1
            log.peak[rest] = max(log.peak.get(rest, 0), log.active[rest])
            log.lock.notify_all()
            log.lock.wait_for(lambda: log.active[rest] >= need, timeout=HOLD_SECONDS)
        try:
            self.reply(200, FEED)
        finally:
            with log.lock:
                log.active[rest] -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    log: ServerLog


@dataclass(frozen=True)
class FeedServer:
    """A running loopback server: its base URL and what it saw."""

    base: str
    port: int
    log: ServerLog
    feed: bytes = FEED
    etag: str = ETAG
    last_modified: str = LAST_MODIFIED

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture(scope="session")
def gzip_bomb() -> bytes:
    """128 MiB of zeros, gzipped (about 130 KB), made once per run."""
    return _gzip_bomb(BOMB_DECODED)


@pytest.fixture
def feed_server(gzip_bomb: bytes) -> Iterator[FeedServer]:
    """A threaded HTTP server on 127.0.0.1 for one test, shut down after it."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.log = ServerLog(bomb=gzip_bomb)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    port = server.server_address[1]
    try:
        yield FeedServer(f"http://127.0.0.1:{port}", port, server.log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class TLSServer:
    """A running HTTPS server on 127.0.0.1 with a certificate for ``localhost`` only."""

    port: int
    client_context: ssl.SSLContext  # trusts that certificate
    log: ServerLog


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A key and a certificate for DNS name ``localhost`` (not for 127.0.0.1)."""
    pytest.importorskip("cryptography")  # present through other dependencies, not our own
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TLSServer]:
    """The feed server's routes over TLS, for one test."""
    key_path, cert_path = _self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.log = ServerLog()
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield TLSServer(
            server.server_address[1], ssl.create_default_context(cafile=cert_path), server.log
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def make_fetcher() -> Iterator[Callable[..., Fetcher]]:
    """Build fetchers (private networks allowed unless said otherwise), closed after the test."""
    made: list[Fetcher] = []

    def make(
        *, concurrency: int = 8, per_host: int = 2, exempt: tuple[str, ...] = (), **limits: object
    ) -> Fetcher:
        limits.setdefault("allow_private_networks", True)
        limits.setdefault("user_agent", user_agent("tests@example.org"))
        fetcher = Fetcher(
            FetchLimits(**limits),  # type: ignore[arg-type]
            concurrency=concurrency,
            per_host=per_host,
            exempt_networks=exempt,
        )
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()
