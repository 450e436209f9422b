"""The local Digital Post test server: what the delivery tests rely on it to do."""

from __future__ import annotations

import uuid

import httpx

from tests.helpers import ASE, BO
from tests.issuers.delivery.test_contracts import _message
from tests.service.digitalpost.support import running_test_server


def test_it_keeps_a_valid_message_once_per_uuid() -> None:
    with running_test_server() as (server, url), httpx.Client(base_url=url, timeout=5) as http:
        message_uuid = uuid.uuid4()
        body = bytes(_message(message_uuid))
        first = http.post("/memo/messages", content=body)
        again = http.post("/memo/messages", content=body)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["receipt"] == again.json()["receipt"]
        assert again.json()["duplicate"] is True
        listed = http.get("/_control/messages").json()
        assert [(m["messageUuid"], m["posts"]) for m in listed] == [(str(message_uuid), 2)]
        assert server.received()[message_uuid].channel == "digital-post"


def test_it_refuses_what_the_memo_schema_refuses_without_repeating_the_cpr() -> None:
    with running_test_server() as (server, url), httpx.Client(base_url=url, timeout=5) as http:
        body = bytes(_message(uuid.uuid4())).replace(b"<memo:label>", b"<memo:labell>", 1)
        refused = http.post("/memo/messages", content=body)
        assert refused.status_code == 400
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert ASE.replace("-", "") not in refused.text
        assert server.received() == {}


def test_it_answers_the_lookup_from_its_exempt_list() -> None:
    with running_test_server() as (_, url), httpx.Client(base_url=url, timeout=5) as http:
        assert http.put("/_control/exempt", json={"cprs": [BO]}).status_code == 204
        lookup = "/lookup/digital-post-recipients"
        assert http.post(lookup, json={"cpr": ASE}).json() == {"canReceive": True}
        assert http.post(lookup, json={"cpr": BO}).json() == {"canReceive": False}


def test_it_fails_hangs_and_is_slow_when_told() -> None:
    with running_test_server() as (server, url), httpx.Client(base_url=url, timeout=5) as http:
        body = bytes(_message(uuid.uuid4()))
        http.put("/_control/behaviour", json={"failureRate": 1.0, "seed": 1})
        assert http.post("/memo/messages", content=body).status_code == 503
        assert server.received() == {}

        # A hang after keeping the message: the answer is lost, the message is not.
        server.behave(failure_rate=0.0, timeout_rate=1.0, hang_seconds=2.0)
        try:
            http.post("/memo/messages", content=body, timeout=0.3)
        except httpx.TimeoutException:
            pass
        else:
            raise AssertionError("the server answered although told to hang")
        assert len(server.received()) == 1

        server.behave(timeout_rate=0.0, delay_seconds=0.3)
        slow = http.post("/memo/messages", content=body)
        assert slow.status_code == 200
        assert slow.elapsed.total_seconds() >= 0.3
