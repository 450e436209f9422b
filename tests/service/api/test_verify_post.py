"""POST /api/verify/{number}: the code in the body, out of every URL and log."""

from __future__ import annotations

from tests.conftest import Demo
from tests.helpers import Client, post_team, team_body


async def test_posting_the_code_answers_as_the_query_does(client: Client, seeded: Demo) -> None:
    issued = await post_team(client, seeded.public, team_body())
    certificate = issued.json()["participants"][0]["certificate"]
    number, code = certificate["number"], certificate["verificationCode"]
    posted = await client.post(f"/api/verify/{number}", json={"code": code.lower()})
    assert posted.status_code == 200, posted.text
    assert posted.json()["status"] == "valid"
    assert posted.json()["participantName"] == "Åse Ødegård"
    queried = await client.get(f"/api/verify/{number}", params={"code": code})
    assert posted.json() == queried.json()
    wrong = await client.post(f"/api/verify/{number}", json={"code": "AAAA-AAAA"})
    assert wrong.json() == {"status": "unknown", "number": number}
    refused = await client.post(f"/api/verify/{number}", json={"kode": code})
    assert refused.status_code in {400, 422}, refused.text
