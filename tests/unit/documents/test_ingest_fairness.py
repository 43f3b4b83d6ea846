"""The embedded ingest poller's scheduling: one organisation's documents never hold up another's."""

from __future__ import annotations

import json

from phi.embedded.ingest_poller import FairQueue, organisation_of


def drain(queue: FairQueue, finish_each: bool = True) -> list[str]:
    order = []
    while (taken := queue.take(timeout=0)) is not None:
        key, item = taken
        order.append(item)
        if finish_each:
            queue.done(key)
    return order


def test_a_later_organisation_is_served_between_an_earlier_ones_documents() -> None:
    queue = FairQueue()
    for n in range(1, 5):
        queue.put("org-a", f"a{n}")
    queue.put("org-b", "b1")
    queue.put("org-c", "c1")

    assert drain(queue) == ["a1", "b1", "c1", "a2", "a3", "a4"]


def test_a_free_worker_goes_to_the_organisation_with_nothing_in_progress() -> None:
    queue = FairQueue()
    queue.put("org-a", "a1")
    queue.put("org-a", "a2")
    assert queue.take(timeout=0) == ("org-a", "a1")  # a1 is in progress and stays so
    queue.put("org-b", "b1")

    assert queue.take(timeout=0) == ("org-b", "b1")
    assert queue.take(timeout=0) == ("org-a", "a2")  # nobody else waits: the busy organisation may go on
    assert len(queue) == 3


def test_take_waits_at_most_its_timeout_on_an_empty_queue() -> None:
    assert FairQueue().take(timeout=0.01) is None


def test_the_organisation_is_read_from_the_s3_event_key() -> None:
    org = "7a1f7e9e-0000-4000-8000-000000000001"
    body = json.dumps({"Records": [{"s3": {"object": {"key": f"documents/{org}/doc-id/SOP.pdf"}}}]})

    assert organisation_of(body) == org
    assert organisation_of('{"Event": "s3:TestEvent"}') == ""
    assert organisation_of("not json") == ""
