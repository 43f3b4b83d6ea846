"""The guarded outbound HTTPS client against a real local TLS server (certificate from a test CA): what it
allows, and each refusal — http://, a host not on the allow-list, private/loopback/link-local/metadata
addresses after DNS resolution, redirects, oversize answers, slow answers — plus the pinning of the checked
address (no second DNS lookup), and TLS name checking kept intact while connecting to an address."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator

import pytest

from phi.guarded_http import OutboundRefused, is_public_address, request
from tests.support.memory import peaks_in_child
from tests.support.tls_server import HOST, TlsServer, tls_server


@pytest.fixture(scope="module")
def server() -> Iterator[TlsServer]:
    with tls_server() as running:
        yield running


def _refused(code: str, *args: object, **kwargs: object) -> OutboundRefused:
    with pytest.raises(OutboundRefused) as caught:
        request(*args, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == code, caught.value.message
    return caught.value


def test_a_get_and_a_post_reach_the_allowed_host_over_tls(server: TlsServer) -> None:
    response = request(server.policy(), "GET", server.url("/echo"))
    assert response.status == 200 and response.address == "127.0.0.1"
    # the URL's host travels in the Host header (and as the TLS server name), not the address
    assert json.loads(response.content) == {"host": f"{HOST}:{server.port}"}

    posted = request(server.policy(), "POST", server.url("/echo?x=1"), content=b'{"a":1}', params={"y": "2"})
    assert posted.status == 200
    last = server.received[-1]
    assert last.method == "POST" and last.body == b'{"a":1}' and last.path == "/echo?x=1&y=2"


def test_only_https_is_allowed(server: TlsServer) -> None:
    error = _refused("Http.NotHttps", server.policy(), "GET", f"http://{HOST}:{server.port}/echo")
    assert "only https://" in error.message
    _refused("Http.NotHttps", server.policy(), "GET", "file:///etc/passwd")
    _refused("Http.BadUrl", server.policy(), "GET", f"https://user:pw@{HOST}:{server.port}/echo")


def test_a_host_not_on_the_allow_list_is_refused_before_any_lookup(server: TlsServer) -> None:
    looked_up: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    error = _refused("Http.HostNotAllowed", server.policy(resolver=resolver), "GET", server.url("/echo", "evil.test"))
    assert "evil.test" in error.message and "allow-list" in error.message
    # an allowed name on another port is another host
    policy = server.policy(allowed_hosts=frozenset({HOST}), resolver=resolver)
    _refused("Http.HostNotAllowed", policy, "GET", server.url("/echo"))
    assert looked_up == []


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.5"],
        ["192.168.1.20"],
        ["172.16.3.4"],
        ["127.0.0.1"],
        ["169.254.169.254"],  # the EC2 / ECS metadata service
        ["100.64.0.1"],  # carrier-grade NAT (shared)
        ["0.0.0.0"],
        ["::1"],
        ["fe80::1"],
        ["fd00:ec2::254"],  # the IPv6 metadata service
        ["::ffff:127.0.0.1"],  # IPv4-mapped loopback
        ["64:ff9b::a9fe:a9fe"],  # NAT64 of 169.254.169.254
        ["93.184.216.34", "10.0.0.5"],  # one private answer among public ones is enough to refuse
    ],
)
def test_private_loopback_link_local_and_metadata_addresses_are_refused_after_resolution(
    server: TlsServer, addresses: list[str]
) -> None:
    # No test_addresses here: the production rule, with a name that resolves to the address
    policy = server.policy(resolver=lambda host, port: addresses, test_addresses=frozenset())
    before = len(server.received)
    error = _refused("Http.PrivateAddress", policy, "GET", server.url("/echo"))
    assert "not a public address" in error.message
    assert len(server.received) == before  # nothing was sent


def test_public_addresses_pass_the_address_check() -> None:
    for text in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"):
        assert is_public_address(ipaddress.ip_address(text))
    for text in ("10.1.2.3", "::ffff:10.1.2.3", "2002:a00:1::", "224.0.0.1", "240.0.0.1", "fec0::1"):
        assert not is_public_address(ipaddress.ip_address(text))


def test_the_connection_is_pinned_to_the_checked_address(server: TlsServer) -> None:
    # A rebinding resolver: the first answer passes the check, a second lookup would point inside
    answers = [["127.0.0.1"], ["169.254.169.254"]]
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return answers[min(len(calls) - 1, 1)]

    response = request(server.policy(resolver=rebinding), "GET", server.url("/echo"))
    assert response.status == 200 and response.address == "127.0.0.1"
    assert calls == [HOST]  # resolved once; the connection went to that answer


def test_tls_still_checks_the_host_name_when_connecting_to_an_address(server: TlsServer) -> None:
    # other.test resolves to the same server, whose certificate names hooks.test only
    policy = server.policy(allowed_hosts=frozenset({f"other.test:{server.port}"}))
    error = _refused("Http.ConnectError", policy, "GET", server.url("/echo", "other.test"))
    assert "CERTIFICATE_VERIFY_FAILED" in error.message or "certificate" in error.message.lower()


def test_redirects_are_refused_not_followed(server: TlsServer) -> None:
    before = len(server.received)
    error = _refused("Http.Redirect", server.policy(), "GET", server.url("/redirect"))
    assert "302" in error.message and "169.254.169.254" in error.message
    assert len(server.received) == before + 1  # only the first request reached anyone


def test_answers_over_the_size_cap_are_refused(server: TlsServer) -> None:
    error = _refused("Http.TooLarge", server.policy(max_response_bytes=100_000), "GET", server.url("/big"))
    assert "announced 200,000 bytes" in error.message
    error = _refused("Http.TooLarge", server.policy(max_response_bytes=100_000), "GET", server.url("/big-chunked"))
    assert "more than the limit of 100,000 bytes" in error.message
    assert len(request(server.policy(max_response_bytes=300_000), "GET", server.url("/big")).content) == 200_000


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/deflate-raw"])
def test_compressed_answers_are_read(server: TlsServer, path: str) -> None:
    answer = request(server.policy(), "GET", server.url(path))
    assert json.loads(answer.content)["data"]["items"][0] == {"carrier": "DHL", "late": 3}
    assert server.received[-1].headers["Accept-Encoding"] == "gzip, deflate"


def test_an_inflation_bomb_is_refused_at_the_cap_without_inflating_it_in_memory() -> None:
    # In a fresh interpreter, so that the peak is the request's own (tests.support.memory).
    setup = """
import atexit
from phi.guarded_http import request
from tests.support.tls_server import tls_server
running = tls_server()
server = running.__enter__()
atexit.register(running.__exit__, None, None, None)  # while the server's thread still runs
policy = server.policy(max_response_bytes=1024 * 1024, timeout_seconds=60)
request(policy, "GET", server.url("/gzip"))  # warm: the TLS and HTTP machinery's first allocations
"""
    call = 'request(policy, "GET", server.url("/gzip-bomb"))'
    (measured,) = peaks_in_child(setup, [call])
    assert measured.error is not None and measured.error.startswith("OutboundRefused"), measured
    assert "more than the limit of 1,048,576 bytes" in measured.error
    # 256 MiB of zeros in ~256 KiB of gzip: httpx's decoder inflated each ~64 KiB read whole (~64 MiB at once).
    assert measured.peak < 12 * 1024 * 1024, measured.peak


def test_unreadable_or_unknown_content_encodings_are_refused_with_the_reason(server: TlsServer) -> None:
    error = _refused("Http.Encoding", server.policy(), "GET", server.url("/gzip-broken"))
    assert "not valid gzip" in error.message
    error = _refused("Http.Encoding", server.policy(), "GET", server.url("/brotli"))
    assert "'br'" in error.message and "only gzip and deflate" in error.message


def test_slow_answers_time_out(server: TlsServer) -> None:
    error = _refused("Http.Timeout", server.policy(timeout_seconds=0.5), "GET", server.url("/slow"))
    assert "0.5 s" in error.message


def test_one_deadline_covers_an_answer_trickled_a_byte_at_a_time(server: TlsServer) -> None:
    # Each byte comes well within a read timeout; the server sends headers for ~6 times the deadline, then hangs up.
    error = _refused("Http.Timeout", server.policy(timeout_seconds=0.5), "GET", server.url("/trickle"))
    assert "0.5 s" in error.message


def test_error_statuses_are_returned_to_the_caller(server: TlsServer) -> None:
    assert request(server.policy(), "GET", server.url("/fail")).status == 500


def _read_body(chunks: list[bytes], coding: str = "gzip", cap: int = 1_000_000) -> bytes:
    from phi.guarded_http import _decoded

    return b"".join(_decoded(iter(chunks), coding, cap, "api.example.com"))


def _pieces(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_a_compressed_body_is_read_whole_or_refused_never_in_part() -> None:
    import gzip
    import zlib

    body = b"carrier,late\n" + b"".join(b"C%d,%d\n" % (i, i % 7) for i in range(5000))
    packed = gzip.compress(body)
    assert _read_body(_pieces(packed)) == body
    assert _read_body(_pieces(zlib.compress(body)), "deflate") == body

    # cut short: half a body is not an answer
    with pytest.raises(OutboundRefused, match="cut short"):
        _read_body(_pieces(packed[: len(packed) // 2]))
    # a second gzip member, or anything after the end, would be dropped (or copied again at every read)
    with pytest.raises(OutboundRefused, match="data after the end"):
        _read_body(_pieces(packed + gzip.compress(b"more rows\n")))
    with pytest.raises(OutboundRefused, match="data after the end"):
        _read_body([packed, b"x" * 100_000])
    with pytest.raises(OutboundRefused, match="data after the end"):
        _read_body([packed + b"junk"])


def test_compressed_bytes_that_never_make_a_body_are_capped_as_they_arrive() -> None:
    # a gzip header announcing a comment field that never ends: bytes are read, nothing is decoded
    header = bytes([0x1F, 0x8B, 8, 0x10, 0, 0, 0, 0, 0, 255])
    chunks = [header + b"c" * 10_000, *(b"c" * 65_536 for _ in range(64))]
    with pytest.raises(OutboundRefused, match="more than the limit"):
        _read_body(chunks, cap=1_000_000)
