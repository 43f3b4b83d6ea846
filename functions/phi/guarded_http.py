"""Outbound HTTP to customers' hosts (webhooks, the `http` node), with the guards a server-side fetcher needs.

Every request:
- is HTTPS, to a host (or host:port) on the organisation's allow-list; no user info in the URL;
- resolves the host once, refuses it when ANY of its addresses is not a public unicast address (private,
  loopback, link-local — the cloud metadata service 169.254.169.254 and fd00:ec2::254 among them —, shared,
  reserved, multicast, IPv4 inside IPv6), then connects to the checked address itself: the URL's host goes only
  into the Host header and the TLS server name (SNI and certificate check), so a second DNS answer cannot send
  the connection elsewhere (DNS rebinding);
- never follows a redirect (a 3xx is refused: its target was not checked), ignores proxy variables;
- is bounded: a deadline for the whole exchange (DNS included), and a cap on the response body, enforced while
  streaming (a Content-Length over the cap is refused before reading) on the decoded bytes: a gzip or deflate
  answer is inflated at most up to the cap (a few KiB of gzip can inflate to gigabytes), other content
  encodings are refused.

The checks run in this order and each refusal is an OutboundRefused with a stable code and a readable reason."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

MAX_URL_CHARS = 2_000
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundRefused(Exception):
    """A request the guards refused or that failed; `code` is stable (Http.*), the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class OutboundPolicy:
    """What one organisation may reach. `allowed_hosts` holds lower-case host names, optionally with a port
    ("hooks.example.com", "api.example.com:8443"); a name without a port allows 443 only."""

    allowed_hosts: frozenset[str]
    timeout_seconds: float = 10.0
    max_response_bytes: int = 1024 * 1024
    resolver: Resolver = system_resolver
    # Test seams: a TLS context trusting a test CA, and addresses a test server listens on (127.0.0.1) that
    # the address check would otherwise refuse. Production code never sets them (phi.workflows.live_ports).
    tls_context: ssl.SSLContext | None = None
    test_addresses: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: dict[str, str]
    content: bytes
    address: str  # the checked address the connection went to
    elapsed_seconds: float

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def normalise_host(host: str) -> str:
    """A host name as the allow-list keeps it: lower case, IDNA (punycode) for non-ASCII names."""
    host = host.strip().rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise OutboundRefused("Http.BadUrl", f"{host!r} is not a valid host name") from exc


def is_public_address(address: IpAddress) -> bool:
    """Only global unicast addresses; an IPv4 address inside IPv6 (mapped, 6to4, Teredo, NAT64) is judged as
    the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        inner: IpAddress | None = address.ipv4_mapped or address.sixtofour
        if inner is None and address.teredo:
            inner = address.teredo[1]
        if inner is None and address in NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return is_public_address(inner)
        if address.is_site_local:  # fec0::/10: deprecated, but a network may still route it internally
            return False
    return bool(address.is_global and not address.is_multicast and not address.is_reserved)


@dataclass(frozen=True)
class _Target:
    host: str
    port: int
    path: str  # path and query, as given


def _parse(url: str, policy: OutboundPolicy) -> _Target:
    if len(url) > MAX_URL_CHARS:
        raise OutboundRefused("Http.BadUrl", f"URL longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError as exc:
        raise OutboundRefused("Http.BadUrl", f"not a valid URL: {exc}") from exc
    if parts.scheme.lower() != "https":
        raise OutboundRefused("Http.NotHttps", f"only https:// URLs are allowed, not {parts.scheme or 'none'}://")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("Http.BadUrl", "credentials in the URL are not allowed")
    if not parts.hostname:
        raise OutboundRefused("Http.BadUrl", "the URL has no host")
    host = normalise_host(parts.hostname)
    if not ((port == 443 and host in policy.allowed_hosts) or f"{host}:{port}" in policy.allowed_hosts):
        shown = host if port == 443 else f"{host}:{port}"
        raise OutboundRefused(
            "Http.HostNotAllowed", f"{shown} is not on the organisation's allow-list of hosts (ask an owner or admin)"
        )
    path = parts.path or "/"
    return _Target(host=host, port=port, path=path + (f"?{parts.query}" if parts.query else ""))


def _resolve(target: _Target, policy: OutboundPolicy, deadline: float) -> str:
    """The one address to connect to, after checking every address the name has."""
    try:
        literal: IpAddress | None = ipaddress.ip_address(target.host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        answers = [str(literal)]
    else:
        pool = ThreadPoolExecutor(max_workers=1)  # getaddrinfo has no timeout of its own
        try:
            answers = pool.submit(policy.resolver, target.host, target.port).result(
                timeout=max(deadline - time.monotonic(), 0.001)
            )
        except FutureTimeout as exc:
            raise OutboundRefused("Http.Timeout", f"resolving {target.host} took too long") from exc
        except OSError as exc:
            raise OutboundRefused("Http.DnsError", f"{target.host} does not resolve: {exc}") from exc
        finally:
            pool.shutdown(wait=False)
    if not answers:
        raise OutboundRefused("Http.DnsError", f"{target.host} has no address")
    for answer in answers:
        address = ipaddress.ip_address(answer.split("%")[0])
        if str(address) in policy.test_addresses:
            continue
        if not is_public_address(address):
            raise OutboundRefused(
                "Http.PrivateAddress",
                f"{target.host} resolves to {address}, which is not a public address (private, loopback, "
                "link-local and metadata addresses are refused)",
            )
    return answers[0].split("%")[0]


def _tls_context(policy: OutboundPolicy) -> ssl.SSLContext:
    return policy.tls_context or ssl.create_default_context()


def request(
    policy: OutboundPolicy,
    method: str,
    url: str,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
) -> OutboundResponse:
    """One guarded exchange (see the module's docstring); raises OutboundRefused."""
    import httpx

    from phi.deadline_transport import deadline_transport

    started = time.monotonic()
    deadline = started + policy.timeout_seconds
    target = _parse(url, policy)
    address = _resolve(target, policy, deadline)
    ip = ipaddress.ip_address(address)
    netloc = f"[{ip}]" if ip.version == 6 else str(ip)
    host_header = target.host if target.port == 443 else f"{target.host}:{target.port}"
    pinned = f"https://{netloc}:{target.port}{target.path}"
    remaining = max(deadline - time.monotonic(), 0.001)
    try:
        with httpx.Client(
            transport=deadline_transport(_tls_context(policy), deadline),
            follow_redirects=False,
            trust_env=False,  # no HTTP(S)_PROXY: the connection goes to the checked address only
            timeout=httpx.Timeout(remaining),
        ) as client:
            outgoing = client.build_request(
                method,
                httpx.URL(pinned).copy_merge_params(params) if params else pinned,  # keep the URL's own query
                content=content,
                # Encodings _decoded reads within the cap, unless the caller asks for another (then refused).
                headers={"Accept-Encoding": "gzip, deflate", **(headers or {}), "Host": host_header},
                extensions={"sni_hostname": target.host},
            )
            response = client.send(outgoing, stream=True)
            try:
                if 300 <= response.status_code < 400:
                    raise OutboundRefused(
                        "Http.Redirect",
                        f"{target.host} answered {response.status_code} (a redirect to "
                        f"{response.headers.get('location', 'somewhere')!r}); redirects are not followed",
                    )
                encoding = response.headers.get("content-encoding", "")
                chunks = _decoded(response.iter_raw(), encoding, policy.max_response_bytes, target.host)
                body = _read_capped(chunks, response.headers, policy, deadline, target.host)
            finally:
                response.close()
    except httpx.TimeoutException as exc:
        raise OutboundRefused(
            "Http.Timeout", f"{target.host} did not answer within {policy.timeout_seconds:g} s"
        ) from exc
    except httpx.HTTPError as exc:
        raise OutboundRefused("Http.ConnectError", f"{target.host}: {type(exc).__name__}: {exc}") from exc
    return OutboundResponse(
        status=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        content=body,
        address=address,
        elapsed_seconds=time.monotonic() - started,
    )


_GZIP = frozenset({"gzip", "x-gzip"})


# Compressed bytes read for a body of at most `cap` decoded bytes: deflate never grows data by more than a few
# bytes per block, so beyond this the stream is not a body of that size (a gzip header's endless comment field).
_COMPRESSED_SLACK_BYTES = 64 * 1024


def _decoded(raw: Iterable[bytes], content_encoding: str, cap: int, host: str) -> Iterator[bytes]:
    """The body as sent, decoded from gzip or deflate in pieces of at most `cap` + 1 bytes each, so the caller's
    cap stops an inflation bomb after one piece; httpx's own decoder inflates each network read whole first.
    One compressed stream, whole: a truncated one, or data after its end (a second gzip member, or bytes zlib
    would copy again at every read), is refused rather than read in part."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip().lower() not in ("", "identity")]
    if not codings:
        yield from raw
        return
    if len(codings) > 1 or codings[0] not in {*_GZIP, "deflate"}:
        raise OutboundRefused(
            "Http.Encoding", f"{host} answered in the content encoding {content_encoding!r}; only gzip and deflate"
        )
    coding = codings[0]
    decoder = zlib.decompressobj(zlib.MAX_WBITS | 16 if coding in _GZIP else zlib.MAX_WBITS)
    started = False
    compressed = 0
    try:
        for chunk in raw:
            if not chunk:
                continue
            compressed += len(chunk)
            if compressed > cap + _COMPRESSED_SLACK_BYTES:
                raise OutboundRefused("Http.TooLarge", f"{host} sent more than the limit of {cap:,} bytes")
            if decoder.eof:
                raise OutboundRefused("Http.Encoding", f"{host} sent data after the end of its {coding} body")
            try:
                piece = decoder.decompress(chunk, cap + 1)
            except zlib.error:
                if started or coding in _GZIP:
                    raise
                # HTTP's deflate is zlib-wrapped; some servers send the raw stream instead (httpx reads both).
                decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                piece = decoder.decompress(chunk, cap + 1)
            started = True
            yield piece
            while decoder.unconsumed_tail:
                yield decoder.decompress(decoder.unconsumed_tail, cap + 1)
            if decoder.unused_data:
                raise OutboundRefused("Http.Encoding", f"{host} sent data after the end of its {coding} body")
        yield decoder.flush()
        if started and not decoder.eof:
            raise OutboundRefused("Http.Encoding", f"{host} sent a {coding} body cut short (it does not end)")
    except zlib.error as exc:
        raise OutboundRefused("Http.Encoding", f"{host} sent a body that is not valid {coding}: {exc}") from exc


def _read_capped(chunks: Iterable[bytes], headers: Any, policy: OutboundPolicy, deadline: float, host: str) -> bytes:
    cap = policy.max_response_bytes
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise OutboundRefused("Http.TooLarge", f"{host} announced {int(declared):,} bytes; the limit is {cap:,}")
    received = bytearray()
    for chunk in chunks:
        received += chunk
        if len(received) > cap:
            raise OutboundRefused("Http.TooLarge", f"{host} sent more than the limit of {cap:,} bytes")
        if time.monotonic() > deadline:
            raise OutboundRefused("Http.Timeout", f"{host} did not finish within {policy.timeout_seconds:g} s")
    return bytes(received)
