"""Documents on the embedded stack: upload through the API or a pre-signed URL → S3 → SQS → the ingest
handler → READY or FAILED; search; delete; tenancy. Real PostgreSQL, moto S3/SQS, the local MiniLM model."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3
import httpx
import pytest

from phi.embedded.sample_sops import PICKING_SOP, shipping_sop_docx
from tests.conftest import apply_settings
from tests.support.api import ApiSession
from tests.support.document_samples import make_pdf, make_zip_bomb
from tests.support.waiting import wait_until

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _upload(session: ApiSession, agent: dict[str, Any], name: str, data: bytes, **form: str) -> Any:
    return session.request(
        "POST", f"/agents/{agent['id']}/documents", files={"file": (name, data)}, data={"source_type": "SOP", **form}
    )


def _wait_until_processed(session: ApiSession, agent: dict[str, Any], document_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 300  # the first ingest loads the model: minutes on a loaded 2-core machine
    while time.monotonic() < deadline:
        document: dict[str, Any] = session.ok("GET", f"/agents/{agent['id']}/documents/{document_id}")
        if document["status"] != "PROCESSING":
            return document
        time.sleep(0.2)
    raise AssertionError(f"document {document_id} still PROCESSING")


@pytest.fixture
def agent(new_user: ApiSession) -> dict[str, Any]:
    return new_user.create_agent()


def test_sops_are_ingested_and_searchable(new_user: ApiSession, agent: dict[str, Any]) -> None:
    # Given an SOP in DOCX and one in Markdown
    docx = _upload(new_user, agent, "SOP-OUT-04.docx", shipping_sop_docx())
    markdown = _upload(new_user, agent, "SOP-PCK-02.md", PICKING_SOP.encode())
    assert docx.status_code == 201 and markdown.status_code == 201
    assert docx.json()["status"] == "PROCESSING"

    # When the pipeline has run
    shipping = _wait_until_processed(new_user, agent, docx.json()["id"])
    picking = _wait_until_processed(new_user, agent, markdown.json()["id"])

    # Then both are READY with chunks, and a question finds the passage that answers it
    assert shipping["status"] == "READY" and shipping["chunk_count"] >= 1, shipping
    assert picking["status"] == "READY" and picking["embedding_model"] == "all-minilm-l6-v2"
    hits = new_user.ok(
        "POST",
        f"/agents/{agent['id']}/search-docs",
        json={"query": "What if a carrier does not turn up to collect the parcels?", "top_k": 3},
    )
    assert hits[0]["filename"] == "SOP-OUT-04.docx"
    assert "misses a scheduled pickup" in hits[0]["text"]
    assert hits[0]["heading"] == "3. Missed carrier pickups"
    assert 0 < hits[0]["score"] <= 1


def test_a_pdf_keeps_its_page_numbers(new_user: ApiSession, agent: dict[str, Any]) -> None:
    receiving = "Receiving. Pallets are checked against the advance shipping notice on arrival. " * 9
    counting = "Cycle counts. Every bin is counted at least once per quarter; variances over 2% are recounted. " * 8
    pages = [receiving, counting]
    response = _upload(new_user, agent, "SOP-INV-01.pdf", make_pdf(pages))

    document = _wait_until_processed(new_user, agent, response.json()["id"])
    hits = new_user.ok(
        "POST", f"/agents/{agent['id']}/search-docs", json={"query": "how often are bins counted", "top_k": 1}
    )

    assert document["status"] == "READY" and document["pages"] == 2
    assert hits[0]["page"] == 2


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("broken.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50, "PDF"),
        ("not-really.pdf", b"Just some text pretending to be a PDF", "not a PDF"),
        ("bomb.docx", make_zip_bomb(200 * 1024 * 1024), "zip"),
    ],
)
def test_bad_files_end_failed_with_the_reason_and_affect_nothing_else(
    new_user: ApiSession, agent: dict[str, Any], name: str, data: bytes, reason: str
) -> None:
    good = _upload(new_user, agent, f"good-{uuid.uuid4().hex[:6]}.md", f"# Note\n\n{uuid.uuid4()}".encode())
    bad = _upload(new_user, agent, name, data)

    failed = _wait_until_processed(new_user, agent, bad.json()["id"])
    fine = _wait_until_processed(new_user, agent, good.json()["id"])

    assert failed["status"] == "FAILED" and reason.lower() in failed["error"].lower(), failed
    assert fine["status"] == "READY"


@pytest.mark.parametrize(
    "name, data, status, code",
    [
        ("macro.xlsm", b"PK\x03\x04", 400, "bad_request"),
        ("empty.md", b"", 400, "bad_request"),
        # stored as '.pdf' (blanks trimmed, the last path part): a name with no extension, which ingest would fail
        (" .pdf", b"%PDF-1.4", 400, "bad_request"),
        ("..\\.md", b"# a", 400, "bad_request"),
    ],
)
def test_the_api_refuses_what_it_can_see_is_wrong(
    new_user: ApiSession, agent: dict[str, Any], name: str, data: bytes, status: int, code: str
) -> None:
    response = _upload(new_user, agent, name, data)
    assert response.status_code == status and response.json()["error"]["code"] == code


def test_an_upload_url_is_refused_for_a_name_stored_without_an_extension(
    new_user: ApiSession, agent: dict[str, Any]
) -> None:
    url = f"/agents/{agent['id']}/documents/upload-url"
    refused = new_user.request("POST", url, json={"filename": " .pdf", "source_type": "SOP"})
    assert refused.status_code == 400 and "with a name before the extension" in refused.json()["error"]["message"]
    assert new_user.request("POST", url, json={"filename": "a .pdf", "source_type": "SOP"}).status_code == 201


def test_an_oversize_upload_is_refused_and_an_oversize_presigned_upload_fails_and_is_not_kept(
    new_user: ApiSession, agent: dict[str, Any], settings_override: dict[str, str], stack: Any
) -> None:
    apply_settings({"PHI_MAX_UPLOAD_BYTES": "1000"})
    direct = _upload(new_user, agent, "big.md", b"# Big\n\n" + b"x " * 1000)
    ticket = new_user.ok("POST", f"/agents/{agent['id']}/documents/upload-url", json={"filename": "big.md"})
    put = httpx.put(ticket["upload_url"], content=b"# Big\n\n" + b"y " * 1000)

    document = _wait_until_processed(new_user, agent, ticket["document"]["id"])

    assert direct.status_code == 413 and "limit" in direct.json()["error"]["message"]
    assert put.status_code == 200
    assert document["status"] == "FAILED" and "limit" in document["error"]
    # An upload URL is a plain signed PUT (S3 takes up to 5 GB through one): what is refused is not kept
    s3 = boto3.client("s3", endpoint_url=stack.info.aws_endpoint_url, region_name="us-east-1")
    prefix = f"documents/{new_user.org_id}/{ticket['document']['id']}/"
    wait_until(lambda: not s3.list_object_versions(Bucket="phi-dev-documents", Prefix=prefix).get("Versions"), 60)
    assert s3.list_objects_v2(Bucket="phi-dev-documents", Prefix=prefix).get("KeyCount", 0) == 0


def test_a_presigned_upload_is_ingested(new_user: ApiSession, agent: dict[str, Any]) -> None:
    ticket = new_user.ok(
        "POST", f"/agents/{agent['id']}/documents/upload-url", json={"filename": "SOP-PCK-02.md", "source_type": "SOP"}
    )
    assert httpx.put(ticket["upload_url"], content=PICKING_SOP.encode()).status_code == 200

    document = _wait_until_processed(new_user, agent, ticket["document"]["id"])

    assert document["status"] == "READY" and document["bytes"] == len(PICKING_SOP.encode())


def test_a_document_that_fails_on_new_bytes_is_no_longer_searched(new_user: ApiSession, agent: dict[str, Any]) -> None:
    # Given a READY SOP, then other bytes put to its (still valid) upload URL that cannot be read
    ticket = new_user.ok(
        "POST", f"/agents/{agent['id']}/documents/upload-url", json={"filename": "pickups.md", "source_type": "SOP"}
    )
    document_id = ticket["document"]["id"]
    assert httpx.put(ticket["upload_url"], content=PICKING_SOP.encode()).status_code == 200
    assert _wait_until_processed(new_user, agent, document_id)["status"] == "READY"
    query = {"query": "what does a picker do with a short pick?", "top_k": 5}
    assert any(
        h["document_id"] == document_id for h in new_user.ok("POST", f"/agents/{agent['id']}/search-docs", json=query)
    )
    assert httpx.put(ticket["upload_url"], content=b"\x00\x01binary" * 100).status_code == 200

    def failed() -> dict[str, Any] | None:
        found: dict[str, Any] = new_user.ok("GET", f"/agents/{agent['id']}/documents/{document_id}")
        return found if found["status"] == "FAILED" else None

    assert wait_until(failed, timeout=300, interval=0.3)["chunk_count"] == 0

    # Then its earlier chunks are gone from search: reports never cite a document the console shows as failed
    hits = new_user.ok("POST", f"/agents/{agent['id']}/search-docs", json=query)
    assert all(h["document_id"] != document_id for h in hits)


def test_the_same_content_twice_is_one_document(new_user: ApiSession, agent: dict[str, Any]) -> None:
    first = _upload(new_user, agent, "SOP-PCK-02.md", PICKING_SOP.encode())
    second = _upload(new_user, agent, "copy-of-SOP.md", PICKING_SOP.encode())

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert len(new_user.ok("GET", f"/agents/{agent['id']}/documents")) == 1


def test_content_of_a_failed_document_uploaded_again_is_answered_as_its_duplicate(
    new_user: ApiSession, agent: dict[str, Any]
) -> None:
    data = b"%PDF-1.7\n" + uuid.uuid4().bytes * 40  # not a readable PDF: it fails
    first = _upload(new_user, agent, "scan-2024.pdf", data)
    failed = _wait_until_processed(new_user, agent, first.json()["id"])
    assert failed["status"] == "FAILED"

    again = _upload(new_user, agent, "scan-2024 (copy).pdf", data)

    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "conflict"
    assert f"duplicate of 'scan-2024.pdf' (document {failed['id']})" in error["message"]
    assert failed["error"] in error["message"]
    assert len(new_user.ok("GET", f"/agents/{agent['id']}/documents")) == 1


def test_delete_removes_the_document_its_chunks_and_its_object(
    new_user: ApiSession, agent: dict[str, Any], stack: Any
) -> None:
    uploaded = _upload(new_user, agent, "SOP-PCK-02.md", PICKING_SOP.encode()).json()
    _wait_until_processed(new_user, agent, uploaded["id"])

    deleted = new_user.request("DELETE", f"/agents/{agent['id']}/documents/{uploaded['id']}")

    assert deleted.status_code == 204
    assert new_user.request("GET", f"/agents/{agent['id']}/documents/{uploaded['id']}").status_code == 404
    assert new_user.ok("POST", f"/agents/{agent['id']}/search-docs", json={"query": "pick rate"}) == []
    s3 = boto3.client("s3", endpoint_url=stack.info.aws_endpoint_url, region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket="phi-dev-documents", Prefix=f"documents/{new_user.org_id}/{uploaded['id']}/")
    assert listed.get("KeyCount", 0) == 0


def test_search_never_returns_another_organisations_documents(
    new_user: ApiSession, agent: dict[str, Any], api_url: str
) -> None:
    secret = f"The vault code of Northwind is {uuid.uuid4().hex}."
    uploaded = _upload(new_user, agent, "secret.md", f"# Vault\n\n{secret}".encode()).json()
    assert _wait_until_processed(new_user, agent, uploaded["id"])["status"] == "READY"
    other = ApiSession(api_url)
    other.sign_up(f"rival-{uuid.uuid4().hex[:8]}@example.com")
    other.create_org("Rival")
    rival_agent = other.create_agent()

    own = new_user.ok("POST", f"/agents/{agent['id']}/search-docs", json={"query": "vault code"})
    rival = other.ok("POST", f"/agents/{rival_agent['id']}/search-docs", json={"query": "vault code"})
    peek = other.request("GET", f"/agents/{agent['id']}/documents/{uploaded['id']}")

    assert own[0]["text"].endswith(secret)
    assert all(secret not in hit["text"] for hit in rival)
    assert peek.status_code == 404


def test_the_document_list_comes_in_pages_newest_first_with_the_total(
    new_user: ApiSession, agent: dict[str, Any]
) -> None:
    # Pre-signed upload tickets make document rows without a file: nothing is ingested.
    made = [
        new_user.ok("POST", f"/agents/{agent['id']}/documents/upload-url", json={"filename": f"sop-{n}.md"})["document"]
        for n in range(3)
    ]
    newest_first = [document["id"] for document in reversed(made)]

    first = new_user.request("GET", f"/agents/{agent['id']}/documents", params={"limit": 2})
    second = new_user.request("GET", f"/agents/{agent['id']}/documents", params={"limit": 2, "offset": 2})
    too_many = new_user.request("GET", f"/agents/{agent['id']}/documents", params={"limit": 201})

    assert first.headers["x-total-count"] == second.headers["x-total-count"] == "3"
    assert [d["id"] for d in first.json()] + [d["id"] for d in second.json()] == newest_first
    assert (too_many.status_code, too_many.json()["error"]["code"]) == (422, "validation_error")
