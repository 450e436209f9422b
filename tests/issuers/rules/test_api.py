"""The rules engine over the school API: facts recorded over time, the computed category,
documents and deadlines shown, certificates issued the moment they are due, refusals named."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.conftest import Demo
from tests.helpers import ASE, BO, Client, login, post_team, team_body

PARTICIPANT = {"cpr": ASE, "name": "Åse Ødegård"}


async def _one(client: Client, demo: Demo, participant: dict[str, Any], **team: Any) -> Any:
    body = team_body([participant], **team)
    response = await post_team(client, demo.public, body, key=str(team.get("reference", "k")))
    assert response.status_code == 201, response.text
    return response.json()["participants"][0]


def _path(participation: str) -> str:
    return f"/api/schools/751234/participations/{participation}"


async def _send(
    client: Client, demo: Demo, method: str, path: str, body: dict[str, Any], *, key: str
) -> Any:
    headers = {**demo.school(demo.public), "Idempotency-Key": key}
    return await client.request(method, path, json=body, headers=headers)


async def test_a_failed_exam_then_a_passed_retake_issues_the_certificate_and_keeps_both(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    first = await _one(client, seeded, {**PARTICIPANT, "exam": "failed", "examDate": "2026-11-10"})
    assert (first["resultGroup"], first["resultCategory"], first["certificate"]) == (1, 4, None)
    view = await client.get(_path(first["participation"]), headers=seeded.school(seeded.public))
    body = view.json()
    assert body["retakeRight"] is True
    assert body["deadlines"]["retakeBy"] == "2026-12-08"  # four weeks after the course end
    assert [d["kind"] for d in body["documents"]] == ["participation-document"]

    retake = {"heldOn": "2026-11-17", "parts": ["passed"], "kind": "retake"}
    after = await _send(
        client, seeded, "POST", f"{_path(first['participation'])}/attempts", retake, key="retake-1"
    )
    assert after.status_code == 201, after.text
    result = after.json()
    assert [(a["kind"], a["outcome"]) for a in result["attempts"]] == [
        ("ordinary", "failed"),
        ("retake", "passed"),
    ]
    assert result["attempts"][1]["reportedAsRetake"] is True
    assert result["attempts"][1]["fundingMarks"] == ["OMPPÅ", "OMPÅE"]
    assert len(result["certificates"]) == 1
    mine = await client.get("/api/me/certificates", headers=await login(client, ASE))
    assert mine.json()[0]["annotations"]["examPassed"] is True
    assert await conn.fetchval("SELECT count(*) FROM exam_attempts") == 2


async def test_repeating_an_attempt_with_the_same_key_records_it_once(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    first = await _one(client, seeded, {**PARTICIPANT, "exam": "failed", "examDate": "2026-11-10"})
    retake = {"heldOn": "2026-11-17", "parts": ["failed"], "kind": "retake"}
    path = f"{_path(first['participation'])}/attempts"
    a = await _send(client, seeded, "POST", path, retake, key="same")
    b = await _send(client, seeded, "POST", path, retake, key="same")
    assert a.json() == b.json()
    assert await conn.fetchval("SELECT count(*) FROM exam_attempts") == 2


async def test_a_second_retake_without_a_reason_is_refused_naming_rule_and_field(
    client: Client, seeded: Demo, conn: asyncpg.Connection
) -> None:
    first = await _one(client, seeded, {**PARTICIPANT, "exam": "failed", "examDate": "2026-11-10"})
    path = f"{_path(first['participation'])}/attempts"
    failed = {"heldOn": "2026-11-13", "parts": ["failed"], "kind": "retake"}
    assert (await _send(client, seeded, "POST", path, failed, key="1")).status_code == 201
    again = {"heldOn": "2026-11-17", "parts": ["passed"], "kind": "retake"}
    refused = await _send(client, seeded, "POST", path, again, key="2")
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["rule"] == "second-retake-without-reason"
    assert problem["invalid-params"][0]["name"] == "attempts[2].retakeReason"
    assert await conn.fetchval("SELECT count(*) FROM exam_attempts") == 2
    with_reason = {**again, "retakeReason": "Sygdom i familien, dokumenteret"}
    assert (await _send(client, seeded, "POST", path, with_reason, key="3")).status_code == 201
    assert await conn.fetchval("SELECT count(*) FROM exam_attempts") == 3  # now it is kept


async def test_a_dispensation_after_collective_shortening_is_refused(
    client: Client, seeded: Demo
) -> None:
    participant = {
        **PARTICIPANT,
        "collectiveShortening": True,
        "dispensation": {"appliedByParticipant": True, "assessmentReplacesExam": True},
        "judgement": "goal-reached",
    }
    response = await post_team(client, seeded.public, team_body([participant]))
    assert response.status_code == 422
    assert response.json()["rule"] == "dispensation-after-collective-shortening"
    assert response.json()["invalid-params"][0]["name"].startswith("participants[0].")


async def test_a_dispensation_recorded_later_issues_a_certificate_saying_so(
    client: Client, seeded: Demo
) -> None:
    first = await _one(client, seeded, PARTICIPANT)
    assert first["resultCategory"] is None  # no final result yet: "Ej relevant"
    update = {
        "dispensation": {"appliedByParticipant": True, "assessmentReplacesExam": True},
        "judgement": "goal-reached",
        "specialConditions": ["extra-time"],
    }
    after = await _send(client, seeded, "PATCH", _path(first["participation"]), update, key="d")
    assert after.status_code == 200, after.text
    assert after.json()["resultCategory"] == 2
    mine = await client.get("/api/me/certificates", headers=await login(client, ASE))
    # Exempted, so the exam was not passed; the certificate says it rests on the exemption.
    annotations = {"examPassed": False, "dispensation": True, "ikv": False}
    assert mine.json()[0]["annotations"] == annotations
    assert "extra" not in mine.text.lower()


async def test_an_ikv_issues_the_activity_certificate_and_one_per_goal_demonstrated(
    client: Client, seeded: Demo
) -> None:
    participant = {
        **PARTICIPANT,
        "ikv": [
            {"goal": "48113", "result": "amu-certificate", "examPassed": True},
            {"goal": "42638", "result": "education-plan"},
        ],
    }
    result = await _one(client, seeded, participant, goal="40080")
    assert (result["resultGroup"], result["resultCategory"]) == (2, 1)
    kinds = sorted((c["kind"], c["goal"]) for c in result["certificates"])
    assert kinds == [("amu", "48113"), ("ikv-activity", "40080")]
    mine = (await client.get("/api/me/certificates", headers=await login(client, ASE))).json()
    by_goal = {c["goalNumber"]: c["annotations"] for c in mine}
    assert by_goal["48113"] == {"examPassed": True, "dispensation": False, "ikv": True}
    assert by_goal["40080"]["ikv"] is True


async def test_an_ikv_goal_outside_the_catalogue_is_refused(client: Client, seeded: Demo) -> None:
    participant = {**PARTICIPANT, "ikv": [{"goal": "99999", "result": "amu-certificate"}]}
    response = await post_team(client, seeded.public, team_body([participant], goal="40080"))
    assert response.status_code == 422
    assert response.json()["invalid-params"][0]["name"].startswith("participants[0].")


async def test_a_vocational_pupil_gets_no_amu_certificate(client: Client, seeded: Demo) -> None:
    participant = {**PARTICIPANT, "enrolment": "vocational-elective", "exam": "passed"}
    response = await post_team(client, seeded.public, team_body([participant]))
    assert response.status_code == 422
    assert response.json()["rule"] == "vocational-elective-no-amu-certificate"


async def test_two_exam_parts_with_one_missed_is_category_5(client: Client, seeded: Demo) -> None:
    participant = {
        **PARTICIPANT,
        "attempts": [{"heldOn": "2026-11-10", "parts": ["passed", "absent"]}],
    }
    result = await _one(client, seeded, participant, goal="40125")
    assert (result["resultGroup"], result["resultCategory"]) == (1, 5)


async def test_the_catalogue_history_decides_the_group_by_the_start_date(
    client: Client, seeded: Demo
) -> None:
    # 45365 had an exam attached 2018-01-01 to 2021-07-01 and again from 2027-01-01.
    body = {**PARTICIPANT, "judgement": "goal-reached"}
    now = await _one(client, seeded, body, goal="45365", reference="H-a")
    assert now["resultGroup"] == 2
    before = await _one(
        client,
        seeded,
        {**body, "judgement": None, "exam": "passed"},
        goal="45365",
        reference="H-b",
        start="2021-03-01",
        end="2021-03-05",
    )
    assert before["resultGroup"] == 1


async def test_changing_facts_behind_an_issued_certificate_is_refused(
    client: Client, seeded: Demo
) -> None:
    issued = await _one(client, seeded, {**PARTICIPANT, "judgement": "goal-reached"}, goal="42638")
    assert issued["certificate"] is not None
    response = await _send(
        client,
        seeded,
        "PATCH",
        _path(issued["participation"]),
        {"judgement": "goal-not-reached"},
        key="change",
    )
    assert response.status_code == 409
    assert response.json()["invalid-params"][0]["name"] == "participation"


async def test_the_overdue_list_warns_before_and_after_the_result_deadline(
    client: Client, seeded: Demo
) -> None:
    # Course ended 2026-11-06; results due 10 working days later (2026-11-20 = the test's today).
    pending = await _one(client, seeded, PARTICIPANT, start="2026-11-02", end="2026-11-06")
    await _one(
        client,
        seeded,
        {"cpr": BO, "name": "Bo Jensen", "exam": "passed"},
        reference="H-done",
        start="2026-11-02",
        end="2026-11-06",
    )
    overdue = (
        await client.get("/api/schools/751234/overdue", headers=seeded.school(seeded.public))
    ).json()
    assert [(o["participation"], o["what"], o["dueBy"]) for o in overdue] == [
        (pending["participation"], "result", "2026-11-20")
    ]
    assert overdue[0]["overdue"] is False  # due today: at risk, not late yet
