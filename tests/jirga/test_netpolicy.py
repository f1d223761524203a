"""Address policy: every non-public range and spelling is refused, public addresses are not, and
the guarded backend connects to the very address it checked."""

from __future__ import annotations

import concurrent.futures
import ipaddress
import socket
import ssl
import time

import httpcore
import httpx
import pytest

from jirga.errors import FetchError, FetchRefused
from jirga.netpolicy import (
    DeadlineExceeded,
    GuardedBackend,
    check_addresses,
    deadline_scope,
    default_ssl_context,
    is_public_address,
    refusal_reason,
    resolve,
)

ip = ipaddress.ip_address

REFUSED = [
    # IPv4
    ("0.0.0.0", "an unspecified address"),
    ("0.1.2.3", "an unspecified address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.255", "a private address"),
    ("192.168.1.1", "a private address"),
    ("100.64.0.1", "a shared (CGNAT) address"),
    ("100.127.255.255", "a shared (CGNAT) address"),
    ("127.0.0.1", "a loopback address"),
    ("127.255.255.254", "a loopback address"),
    ("169.254.169.254", "a link-local address"),
    ("192.0.0.8", "a reserved (IETF protocol assignments) address"),
    ("192.0.2.1", "a documentation address"),
    ("198.51.100.7", "a documentation address"),
    ("203.0.113.9", "a documentation address"),
    ("192.88.99.1", "a reserved (6to4 relay) address"),
    ("198.18.0.1", "a benchmarking address"),
    ("198.19.255.255", "a benchmarking address"),
    ("224.0.0.1", "a multicast address"),
    ("239.255.255.250", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "a broadcast address"),
    # IPv6
    ("::", "an unspecified address"),
    ("::1", "a loopback address"),
    ("fc00::1", "a private (unique local) address"),
    ("fd12:3456:789a::1", "a private (unique local) address"),
    ("fe80::1", "a link-local address"),
    ("fe80::1%eth0", "a link-local address"),
    ("fec0::1", "a site-local address"),
    ("ff02::1", "a multicast address"),
    ("2001:db8::1", "a documentation address"),
    ("3fff::1", "a documentation address"),
    ("2001:2::1", "a benchmarking address"),
    ("100::1", "a discard-only address"),
    ("64:ff9b:1::1", "a local-use NAT64 address"),
    ("2001:10::1", "a reserved (IETF protocol assignments) address"),
    ("5f00::1", "a reserved (SRv6) address"),
    ("4000::1", "a reserved address"),
    ("::ffff:0:7f00:1", "a reserved address"),  # IPv4-translated: not global unicast
    # IPv4 inside IPv6: the embedded address decides
    ("::ffff:127.0.0.1", "an IPv4-mapped address embedding 127.0.0.1, a loopback address"),
    ("::ffff:10.0.0.1", "an IPv4-mapped address embedding 10.0.0.1, a private address"),
    ("::ffff:169.254.169.254", "an IPv4-mapped address embedding 169.254.169.254, a link-local"),
    ("::127.0.0.1", "an IPv4-compatible address embedding 127.0.0.1, a loopback address"),
    ("::8.8.8.8", "a deprecated IPv4-compatible address"),
    ("2002:7f00:1::", "a 6to4 address embedding 127.0.0.1, a loopback address"),
    ("2002:c0a8:101::1", "a 6to4 address embedding 192.168.1.1, a private address"),
    ("64:ff9b::7f00:1", "a NAT64 address embedding 127.0.0.1, a loopback address"),
    ("64:ff9b::a9fe:a9fe", "a NAT64 address embedding 169.254.169.254, a link-local address"),
    # Teredo: 2001:0:<server>:<flags>:<port>:<client, inverted>
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "a Teredo address embedding 127.0.0.1, a loopback"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "a Teredo address embedding 192.0.2.45, a docum"),
    ("2001:0:a00:1:8000:63bf:f7f7:f7f7", "a Teredo address embedding 10.0.0.1, a private"),
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",  # just below CGNAT
    "100.128.0.0",  # just above
    "172.15.255.255",
    "172.32.0.0",
    "192.88.100.1",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # DNS64 answer for a public IPv4 host
    "2002:808:808::1",
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo, server and client public
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_non_public_addresses_are_refused_with_their_kind(address, kind):
    reason = refusal_reason(ip(address))

    assert reason is not None
    assert reason.startswith(f"{ip(address)} is {kind}")
    assert not is_public_address(ip(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert refusal_reason(ip(address)) is None
    assert is_public_address(ip(address))


def test_reason_is_one_plain_line():
    assert refusal_reason(ip("10.0.0.1")) == "10.0.0.1 is a private address"


# --- resolution: let the system resolver read the spelling, then judge the address -------------


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("localhost", "127.0.0.1"),
        ("127.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),  # octal
        ("2130706433", "127.0.0.1"),  # one 32-bit number
        ("0x7f.1", "127.0.0.1"),  # hex, two parts
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("::1", "::1"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
    ],
)
def test_odd_spellings_resolve_to_the_address_they_mean_and_are_refused(host, address):
    addresses = resolve(host, 80)

    assert ip(address) in addresses
    with pytest.raises(FetchRefused, match=r"^refused: "):
        check_addresses(host, addresses)


def test_refusal_names_the_host_and_the_address():
    with pytest.raises(FetchRefused) as caught:
        check_addresses("0x7f.1", resolve("0x7f.1", 80))

    assert str(caught.value) == "refused: 0x7f.1 resolves to 127.0.0.1, a loopback address"


def test_one_bad_address_refuses_the_host():
    with pytest.raises(FetchRefused, match=r"10\.0\.0\.1 is a private address"):
        check_addresses("10.0.0.1", [ip("8.8.8.8"), ip("10.0.0.1")])


def test_exempt_networks_are_admitted_and_nothing_else():
    exempt = [ipaddress.ip_network("10.1.0.0/16")]

    check_addresses("intranet", [ip("10.1.2.3")], exempt)
    with pytest.raises(FetchRefused):
        check_addresses("intranet", [ip("10.2.0.1")], exempt)


def test_public_addresses_pass_the_check():
    check_addresses(
        "example.org", [ip("93.184.215.14"), ip("2606:2800:21f:cb07:6820:80da:af6b:8b2c")]
    )


def test_unresolvable_host_is_a_fetch_error():
    with pytest.raises(FetchError, match=r"^cannot resolve no-such-host\.invalid"):
        resolve("no-such-host.invalid", 80)


# --- the guarded backend -----------------------------------------------------------------------


@pytest.fixture
def listener():
    """A listening TCP socket on 127.0.0.1 that accepts nothing by itself."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(5)
    yield sock
    sock.close()


def test_backend_refuses_before_connecting(listener):
    backend = GuardedBackend()
    port = listener.getsockname()[1]
    listener.settimeout(0.2)
    try:
        with pytest.raises(FetchRefused, match=r"refused: localhost resolves to 127\.0\.0\.1"):
            backend.connect_tcp("localhost", port, timeout=5)
        with pytest.raises(TimeoutError):
            listener.accept()  # no connection was ever attempted
    finally:
        backend.close()


def test_backend_connects_to_the_address_it_checked(listener):
    """A name whose DNS answer changes after the check (rebinding) still gets the checked one."""
    answers = iter([(ip("127.0.0.1"),), (ip("10.255.255.1"),)])
    calls: list[str] = []

    def fake_dns(host: str, port: int) -> tuple[ipaddress.IPv4Address, ...]:
        calls.append(host)
        return next(answers)  # type: ignore[return-value]

    backend = GuardedBackend(exempt=["127.0.0.1/32"], resolver=fake_dns)
    port = listener.getsockname()[1]
    try:
        stream = backend.connect_tcp("feeds.example", port, timeout=5)
        peer, _ = listener.accept()
        try:
            assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
            assert calls == ["feeds.example"]  # resolved once: the connect used that answer
        finally:
            stream.close()
            peer.close()
    finally:
        backend.close()


def test_stream_reads_end_at_the_deadline(listener):
    backend = GuardedBackend(allow_private=True)
    port = listener.getsockname()[1]
    try:
        stream = backend.connect_tcp("127.0.0.1", port, timeout=5)
        peer, _ = listener.accept()
        try:
            with deadline_scope(time.monotonic() + 0.3), pytest.raises(DeadlineExceeded):
                stream.read(100, timeout=30)  # the peer never sends: only the deadline ends it
            with pytest.raises(httpcore.ReadTimeout):
                stream.read(100, timeout=0.1)  # outside a fetch: the plain timeout applies
        finally:
            stream.close()
            peer.close()
    finally:
        backend.close()


# --- TLS: the connection goes to the checked IP, the certificate is checked against the name ----


def test_tls_verifies_the_hostname_while_connecting_to_the_checked_address(tls_server):
    backend = GuardedBackend(exempt=["127.0.0.1/32"])
    limits = httpx.Limits(max_connections=2)
    url = f"https://localhost:{tls_server.port}/static"
    try:
        with httpx.Client(transport=backend.transport(limits, tls_server.client_context)) as client:
            response = client.get(url)
            assert response.status_code == 200
            assert response.extensions["network_stream"].get_extra_info("server_addr") == (
                "127.0.0.1",
                tls_server.port,
            )
            # The certificate names localhost only: reaching the same IP by number must fail.
            with pytest.raises(httpx.ConnectError, match="certificate"):
                client.get(f"https://127.0.0.1:{tls_server.port}/static")
    finally:
        backend.close()


def test_transports_share_one_verifying_tls_context():
    backend = GuardedBackend()
    limits = httpx.Limits(max_connections=2)
    try:
        first, second = backend.transport(limits), backend.transport(limits)
        context = default_ssl_context()
        assert first._pool._ssl_context is context
        assert second._pool._ssl_context is context
        # The shared context still checks certificates and names.
        assert context.verify_mode is ssl.CERT_REQUIRED
        assert context.check_hostname
        first.close()
        second.close()
    finally:
        backend.close()


def test_threads_asking_at_once_get_one_tls_context(monkeypatch):
    from jirga import netpolicy

    built = []
    real = httpx.create_ssl_context

    def counting(*args, **kwargs):
        built.append(1)
        time.sleep(0.05)  # as slow as loading the CA bundle, so the threads overlap
        return real(*args, **kwargs)

    monkeypatch.setattr(netpolicy.httpx, "create_ssl_context", counting)
    netpolicy._ssl_context.cache_clear()
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            contexts = list(pool.map(lambda _: default_ssl_context(), range(8)))
    finally:
        netpolicy._ssl_context.cache_clear()  # the next caller builds a real one again

    assert len(built) == 1
    assert all(c is contexts[0] for c in contexts)


def test_slow_dns_cannot_hold_a_fetch_past_its_deadline():
    def slow_fake_dns(host: str, port: int) -> tuple[ipaddress.IPv4Address, ...]:
        time.sleep(2)  # a resolver that hangs (bounded, so its thread ends)
        return (ipaddress.IPv4Address("127.0.0.1"),)

    backend = GuardedBackend(allow_private=True, resolver=slow_fake_dns)
    try:
        with deadline_scope(time.monotonic() + 0.3), pytest.raises(DeadlineExceeded):
            backend.connect_tcp("feeds.example", 80, timeout=30)
    finally:
        backend.close()
