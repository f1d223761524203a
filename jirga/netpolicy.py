"""Where jirga may connect, and for how long: only public addresses, judged after resolution.

:class:`GuardedBackend` (the fetcher's httpcore network backend) resolves every host itself, asks
:func:`refusal_reason` about *every* address and connects to a checked address, so a hostname, an
odd numeric spelling (``0177.0.0.1``, ``2130706433``), an IPv6 wrapper around an IPv4 address or a
DNS answer that changes between check and connect cannot reach a private service. Its streams cap
each socket wait by the overall deadline of the current fetch (:func:`deadline_scope`), so a server
trickling bytes cannot hold a worker past it.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from jirga.errors import FetchError, FetchRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Order matters: the first network that holds an address names it (broadcast before 240/4).
_IPV4_RANGES: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "an unspecified address"),
    (_V4("10.0.0.0/8"), "a private address"),
    (_V4("100.64.0.0/10"), "a shared (CGNAT) address"),
    (_V4("127.0.0.0/8"), "a loopback address"),
    (_V4("169.254.0.0/16"), "a link-local address"),
    (_V4("172.16.0.0/12"), "a private address"),
    (_V4("192.0.0.0/24"), "a reserved (IETF protocol assignments) address"),
    (_V4("192.0.2.0/24"), "a documentation address"),
    (_V4("192.88.99.0/24"), "a reserved (6to4 relay) address"),
    (_V4("192.168.0.0/16"), "a private address"),
    (_V4("198.18.0.0/15"), "a benchmarking address"),
    (_V4("198.51.100.0/24"), "a documentation address"),
    (_V4("203.0.113.0/24"), "a documentation address"),
    (_V4("224.0.0.0/4"), "a multicast address"),
    (_V4("255.255.255.255/32"), "a broadcast address"),
    (_V4("240.0.0.0/4"), "a reserved address"),
)

_IPV6_RANGES: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "an unspecified address"),
    (_V6("::1/128"), "a loopback address"),
    (_V6("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_V6("100::/64"), "a discard-only address"),
    (_V6("2001:2::/48"), "a benchmarking address"),
    (_V6("2001:db8::/32"), "a documentation address"),
    (_V6("2001::/23"), "a reserved (IETF protocol assignments) address"),
    (_V6("3fff::/20"), "a documentation address"),
    (_V6("5f00::/16"), "a reserved (SRv6) address"),
    (_V6("fc00::/7"), "a private (unique local) address"),
    (_V6("fe80::/10"), "a link-local address"),
    (_V6("fec0::/10"), "a site-local address"),
    (_V6("ff00::/8"), "a multicast address"),
)
# Everything routable on the IPv6 internet is global unicast; the rest is reserved.
_IPV6_GLOBAL_UNICAST = _V6("2000::/3")
_IPV4_COMPATIBLE = _V6("::/96")
_NAT64 = _V6("64:ff9b::/96")


def _ipv4_kind(ip: ipaddress.IPv4Address) -> str | None:
    for network, kind in _IPV4_RANGES:
        if ip in network:
            return kind
    # Python's own table as a backstop for ranges added after this one was written.
    return None if ip.is_global else "a non-global address"


def _embedded(label: str, inner: ipaddress.IPv4Address) -> str | None:
    kind = _ipv4_kind(inner)
    return None if kind is None else f"{label} embedding {inner}, {kind}"


def _ipv6_kind(ip: ipaddress.IPv6Address) -> str | None:
    # IPv6 forms that carry an IPv4 address are judged by the IPv4 address they lead to.
    if ip.ipv4_mapped is not None:
        return _embedded("an IPv4-mapped address", ip.ipv4_mapped)
    if ip in _NAT64:
        return _embedded("a NAT64 address", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        return _embedded("a 6to4 address", ip.sixtofour)
    if ip.teredo is not None:
        server, client = ip.teredo
        return _embedded("a Teredo address", client) or _embedded("a Teredo address", server)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        return _embedded("an IPv4-compatible address", inner) or (
            "a deprecated IPv4-compatible address"
        )
    for network, kind in _IPV6_RANGES:
        if ip in network:
            return kind
    if ip not in _IPV6_GLOBAL_UNICAST:
        return "a reserved address"
    return None if ip.is_global else "a non-global address"


def address_kind(ip: IPAddress) -> str | None:
    """Why ``ip`` is not public, as a noun phrase ("a loopback address"), or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        # A zone id (fe80::1%eth0) says nothing about the range; judge the bare address.
        return _ipv6_kind(ipaddress.IPv6Address(int(ip)))
    return _ipv4_kind(ip)


def refusal_reason(ip: IPAddress) -> str | None:
    """Why connecting to ``ip`` is refused ("10.0.0.1 is a private address"), or None."""
    kind = address_kind(ip)
    return None if kind is None else f"{ip} is {kind}"


def is_public_address(ip: IPAddress) -> bool:
    """True when ``ip`` is a public unicast address jirga may connect to."""
    return address_kind(ip) is None


def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    """Every address the system resolver gives for ``host``, in its order, without duplicates.

    The resolver interprets numeric spellings (``0x7f.1``, ``2130706433``) exactly as a connect
    would, which is why the check is made on its answer and never on the spelling.
    Raises :class:`FetchError` when the host does not resolve.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: {exc}") from None
    found: dict[IPAddress, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        found.setdefault(ipaddress.ip_address(sockaddr[0]), None)
    if not found:
        raise FetchError(f"cannot resolve {host}: no addresses")
    return tuple(found)


def _spells(host: str, ip: IPAddress) -> bool:
    """Whether ``host`` is ``ip`` written as a standard literal (no name, no odd spelling)."""
    try:
        return ipaddress.ip_address(host.strip("[]")) == ip
    except ValueError:
        return False


def check_addresses(
    host: str, addresses: Iterable[IPAddress], exempt: Iterable[IPNetwork] = ()
) -> None:
    """Raise :class:`FetchRefused` when any address of ``host`` is not public.

    One bad address refuses the host, because which one a connect would use is not ours to pick
    once a name can point anywhere. ``exempt`` lists networks the user trusts (an intranet host).
    """
    exempt = tuple(exempt)
    for ip in addresses:
        if any(ip.version == net.version and ip in net for net in exempt):
            continue
        kind = address_kind(ip)
        if kind is None:
            continue
        if _spells(host, ip):
            raise FetchRefused(f"refused: {host.strip('[]')} is {kind}")
        raise FetchRefused(f"refused: {host} resolves to {ip}, {kind}")


# --- enforcement: the network backend ---------------------------------------------------------


class DeadlineExceeded(FetchError):
    """The overall deadline of the current fetch passed while waiting on the network."""


# Monotonic time at which the fetch running in this thread must end; None: no deadline.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "jirga_fetch_deadline", default=None
)


@contextmanager
def deadline_scope(at: float) -> Iterator[None]:
    """Bound every socket wait made in this thread (or task) until ``time.monotonic() == at``."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _cap(timeout: float | None) -> tuple[float | None, bool]:
    """``timeout`` shortened to what is left of the deadline, and whether the deadline bound it."""
    at = _DEADLINE.get()
    if at is None:
        return timeout, False
    left = at - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded
    if timeout is None or left < timeout:
        return left, True
    return timeout, False


class _DeadlineStream(httpcore.NetworkStream):
    """A stream whose every read and write ends by the deadline of the fetch using it *now*.

    The deadline is looked up at each call, not kept: pooled connections serve many fetches.
    """

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        timeout, bound = _cap(timeout)
        try:
            return self._inner.read(max_bytes, timeout)
        except httpcore.ReadTimeout:
            if bound:
                raise DeadlineExceeded from None
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        timeout, bound = _cap(timeout)
        try:
            self._inner.write(buffer, timeout)
        except httpcore.WriteTimeout:
            if bound:
                raise DeadlineExceeded from None
            raise

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout, bound = _cap(timeout)
        try:
            return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))
        except httpcore.ConnectTimeout:
            if bound:
                raise DeadlineExceeded from None
            raise

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


_SSL_CONTEXT_LOCK = threading.Lock()


def default_ssl_context() -> ssl.SSLContext:
    """httpx's TLS context (certifi's CAs, no environment overrides), built once per process.

    Loading the CA bundle costs about 30 ms, a noticeable share of a re-poll that finds nothing
    new; a context is safe to share between threads and clients once configured. The lock
    keeps fetch threads that all start at once from each building one.
    """
    with _SSL_CONTEXT_LOCK:
        return _ssl_context()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context(trust_env=False)


class GuardedBackend(httpcore.NetworkBackend):
    """An httpcore backend that connects only to checked addresses, within the fetch deadline.

    httpcore hands ``connect_tcp`` the URL's host and keeps it for TLS (SNI and certificate
    checks), so connecting to the checked IP here changes nothing else. ``allow_private`` turns
    the address check off (tests, intranets); ``exempt`` admits a few networks (CIDR strings).
    ``resolver`` is :func:`resolve` unless a test needs a fake DNS.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        exempt: Iterable[str] = (),
        resolver_threads: int = 4,
        resolver: Callable[[str, int], tuple[IPAddress, ...]] = resolve,
    ) -> None:
        self._allow_private = allow_private
        self._resolve_host = resolver
        self._exempt = tuple(ipaddress.ip_network(n, strict=False) for n in exempt)
        self._inner = httpcore.SyncBackend()
        # getaddrinfo has no timeout of its own; waiting on it from here lets the deadline win.
        self._resolver = concurrent.futures.ThreadPoolExecutor(
            max_workers=resolver_threads, thread_name_prefix="jirga-resolve"
        )

    def transport(
        self, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None
    ) -> httpx.HTTPTransport:
        """An httpx transport whose every connection goes through this backend.

        httpx 0.28 takes no network backend (encode/httpx#3180), so the transport's pool, a private
        attribute, is replaced by one with the same settings; this is the only place jirga touches
        httpx internals. Keeping httpx's transport keeps its mapping of httpcore errors.
        ``ssl_context`` defaults to httpx's (certifi's CAs, no environment overrides).
        """
        context = ssl_context or default_ssl_context()
        # Given the context, httpx builds none of its own (loading the CA bundle is ~30 ms).
        transport = httpx.HTTPTransport(limits=limits, trust_env=False, verify=context)
        transport._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=self,
        )
        return transport

    def close(self) -> None:
        """Stop the resolver threads (a resolution under way is left to finish on its own)."""
        self._resolver.shutdown(wait=False, cancel_futures=True)

    def _resolve(self, host: str, port: int, timeout: float | None) -> tuple[IPAddress, ...]:
        try:
            return (ipaddress.ip_address(host),)
        except ValueError:
            pass  # a name, or a numeric spelling only the system resolver understands
        timeout, bound = _cap(timeout)
        future = self._resolver.submit(self._resolve_host, host, port)
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            if bound:
                raise DeadlineExceeded from None
            raise httpcore.ConnectTimeout(f"resolving {host} took over {timeout:g} s") from None

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._resolve(host, port, timeout)
        if not self._allow_private:
            check_addresses(host, addresses, self._exempt)
        failure: Exception = httpcore.ConnectError(f"cannot connect to {host}")
        for ip in addresses:
            capped, bound = _cap(timeout)
            try:
                stream = self._inner.connect_tcp(
                    str(ip), port, capped, local_address, list(socket_options or ())
                )
            except httpcore.ConnectTimeout as exc:
                if bound:
                    raise DeadlineExceeded from None
                failure = exc
            except httpcore.ConnectError as exc:
                failure = exc
            else:
                return _DeadlineStream(stream)
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise FetchRefused("refused: unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
