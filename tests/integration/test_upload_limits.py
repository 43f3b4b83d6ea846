"""Document uploads are bounded while they stream: an oversized body is refused before it is read whole, and
document listings carry no storage internals."""

from __future__ import annotations

import socket
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import apply_settings
from tests.support.api import ApiSession

LIMIT = 2 * 1024 * 1024


def _admin_agent(session: ApiSession) -> dict[str, Any]:
    return session.create_agent()


def _raw_upload(
    api_url: str, token: str, agent_id: str, headers: dict[str, str], chunks: Any, path: str = ""
) -> tuple[int, bytes]:
    """Sends a multipart upload (to `path`, the agent's documents by default) over a plain socket; returns (body
    bytes the server took, response bytes)."""
    parts = urlsplit(api_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    head = [
        f"POST {path or f'/agents/{agent_id}/documents'} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Authorization: Bearer {token}",
        *[f"{k}: {v}" for k, v in headers.items()],
        "",
        "",
    ]
    sent = 0
    response = b""
    try:
        sock.sendall("\r\n".join(head).encode())
        for chunk in chunks:
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError:  # the server answered and closed the connection while the client was still sending
        pass
    try:
        while data := sock.recv(65536):
            response += data
    except OSError:
        pass
    finally:
        sock.close()
    return sent, response


def _multipart_chunks(boundary: str, file_bytes: int, chunked: bool) -> Any:
    opening = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    closing = f"\r\n--{boundary}--\r\n".encode()
    block = b"warehouse SOP text " * (64 * 1024 // 19)

    def frame(data: bytes) -> bytes:
        return f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data

    yield frame(opening)
    remaining = file_bytes
    while remaining > 0:
        piece = block[: min(len(block), remaining)]
        remaining -= len(piece)
        yield frame(piece)
    yield frame(closing)
    if chunked:
        yield b"0\r\n\r\n"


def test_a_body_declared_larger_than_the_limit_is_refused_before_it_is_sent(
    new_user: ApiSession, api_url: str, settings_override: dict[str, str]
) -> None:
    apply_settings({"PHI_MAX_UPLOAD_BYTES": str(LIMIT)})
    agent = _admin_agent(new_user)
    boundary = uuid.uuid4().hex
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(500 * 1024 * 1024)}

    # The client sends the headers only: the answer comes without the server waiting for 500 MB
    sent, response = _raw_upload(api_url, new_user.token or "", agent["id"], headers, [])

    assert sent == 0
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert b"payload_too_large" in response


# Headers only: a multipart body of 3 MB announced, over the 1 MiB limit of anything but a signed-in upload
_DECLARED_3_MB = {"Content-Type": "multipart/form-data; boundary=b0undary", "Content-Length": str(3 * 1024 * 1024)}


@pytest.mark.parametrize("route", ["/orgs", "/auth/login", "/console/orgs", "/agents/{agent}/documents/upload-url"])
def test_a_route_that_takes_no_document_takes_no_more_than_the_small_limit_whatever_the_content_type(
    new_user: ApiSession, api_url: str, route: str
) -> None:
    # Any client can say multipart/form-data: that alone no longer buys an upload's budget on any route
    agent = _admin_agent(new_user)
    path = route.format(agent=agent["id"])
    sent, response = _raw_upload(api_url, new_user.token or "", agent["id"], _DECLARED_3_MB, [], path=path)
    assert sent == 0
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert b"(the limit for anything but a document upload)" in response


@pytest.mark.parametrize("token", ["", "not-a-token", "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"])
def test_an_upload_without_a_valid_token_is_refused_before_its_body_is_read(
    new_user: ApiSession, api_url: str, token: str
) -> None:
    agent = _admin_agent(new_user)
    headers = _DECLARED_3_MB
    sent, response = _raw_upload(api_url, token, agent["id"], headers, [])
    assert sent == 0
    assert response.startswith(b"HTTP/1.1 401"), response[:200]
    # the console's upload form, without a session cookie, the same
    console_path = f"/console/agents/{agent['id']}/documents"
    sent, response = _raw_upload(api_url, token, agent["id"], headers, [], path=console_path)
    assert sent == 0 and response.startswith(b"HTTP/1.1 401"), response[:200]
    # while the signed-in owner's upload of the same size is taken (under the default 25 MB limit)
    small = new_user.request(
        "POST", f"/agents/{agent['id']}/documents", files={"file": ("big.txt", b"a" * (3 * 1024 * 1024), "text/plain")}
    )
    assert small.status_code == 201, small.text


def test_a_streamed_body_is_cut_off_once_it_passes_the_limit(
    new_user: ApiSession, api_url: str, settings_override: dict[str, str]
) -> None:
    # Given a 2 MB limit and a client streaming 256 MB without announcing the length (chunked)
    apply_settings({"PHI_MAX_UPLOAD_BYTES": str(LIMIT)})
    agent = _admin_agent(new_user)
    boundary = uuid.uuid4().hex
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Transfer-Encoding": "chunked"}

    sent, response = _raw_upload(
        api_url, new_user.token or "", agent["id"], headers, _multipart_chunks(boundary, 256 * 1024 * 1024, True)
    )

    # Then the server stopped reading a little past the limit (socket buffers aside), far from 256 MB
    assert sent < LIMIT + 16 * 1024 * 1024, f"the server took {sent:,} bytes"
    assert not response or response.startswith(b"HTTP/1.1 413"), response[:200]
    documents = new_user.ok("GET", f"/agents/{agent['id']}/documents")
    assert documents == []


def test_a_file_just_under_the_limit_is_accepted_and_one_just_over_refused(
    new_user: ApiSession, settings_override: dict[str, str]
) -> None:
    apply_settings({"PHI_MAX_UPLOAD_BYTES": str(LIMIT)})
    agent = _admin_agent(new_user)
    under = new_user.request(
        "POST", f"/agents/{agent['id']}/documents", files={"file": ("under.txt", b"a" * (LIMIT - 10), "text/plain")}
    )
    over = new_user.request(
        "POST", f"/agents/{agent['id']}/documents", files={"file": ("over.txt", b"a" * (LIMIT + 1), "text/plain")}
    )
    assert under.status_code == 201, under.text
    assert over.status_code == 413 and over.json()["error"]["code"] in ("payload_too_large", "too_large")


def test_an_overlong_file_name_is_refused(new_user: ApiSession) -> None:
    agent = _admin_agent(new_user)
    response = new_user.request(
        "POST", f"/agents/{agent['id']}/documents", files={"file": ("a" * 300 + ".txt", b"hello", "text/plain")}
    )
    assert response.status_code == 400, response.text
    assert "file name" in response.json()["error"]["message"]


@pytest.mark.parametrize("second_field", ["file", "attachment"])
def test_a_form_with_two_files_is_refused_and_neither_is_stored(new_user: ApiSession, second_field: str) -> None:
    # One of them would otherwise be kept and the other dropped without a word.
    agent = _admin_agent(new_user)
    response = new_user.request(
        "POST",
        f"/agents/{agent['id']}/documents",
        files=[
            ("file", ("first.md", b"# Receiving\nCount every pallet.", "text/markdown")),
            (second_field, ("second.md", b"# Shipping\nSeal every trailer.", "text/markdown")),
        ],
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"] == "The form carries 2 files; upload one file at a time."
    assert new_user.ok("GET", f"/agents/{agent['id']}/documents") == []


def test_document_answers_carry_no_storage_keys(new_user: ApiSession) -> None:
    agent = _admin_agent(new_user)
    uploaded = new_user.ok(
        "POST",
        f"/agents/{agent['id']}/documents",
        files={"file": ("sop.md", b"# Late shipments\nAt most 5% late.", "text/markdown")},
    )
    ticket = new_user.ok("POST", f"/agents/{agent['id']}/documents/upload-url", json={"filename": "big.pdf"})
    listed = new_user.ok("GET", f"/agents/{agent['id']}/documents")
    one = new_user.ok("GET", f"/agents/{agent['id']}/documents/{uploaded['id']}")

    for document in (uploaded, ticket["document"], *listed, one):
        assert "s3_key" not in document and "documents/" not in str(document.values()), document
    assert {d["id"] for d in listed} == {uploaded["id"], ticket["document"]["id"]}


def test_a_json_body_is_limited_to_what_a_route_can_take_not_to_the_upload_size(api_url: str) -> None:
    # A million made-up keys in 10 MB were a 100 MB answer of errors, built while every other request waited
    anyone = ApiSession(api_url)
    many_keys = "{" + ",".join(f'"k{i}":0' for i in range(120_000)) + "}"  # ~1.3 MB
    refused = anyone.request(
        "POST", "/auth/login", content=many_keys.encode(), headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "payload_too_large"
    assert "the limit for anything but a document upload" in refused.json()["error"]["message"]

    # Under the limit, a body of many unknown fields is answered with the first errors and how many there were
    some_keys = "{" + ",".join(f'"k{i}":0' for i in range(5_000)) + "}"
    answered = anyone.request(
        "POST", "/auth/login", content=some_keys.encode(), headers={"Content-Type": "application/json"}
    )
    error = answered.json()["error"]
    assert answered.status_code == 422 and len(answered.content) < 10_000
    assert len(error["details"]["fields"]) == 20 and error["details"]["error_count"] >= 5_000
    assert error["message"].endswith("more")
