"""What the school's records pages show: the participation and certificate pages with their
forms (each form a one-time id for its idempotent write), and the Danish words for attempts,
deliveries and results. The controller is ``school_records``."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg
from litestar.exceptions import NotFoundException
from litestar.response import Template

from issuers import overview_store, participations
from issuers.cpr import mask
from issuers.delivery.desk import DeliveryDesk
from issuers.delivery.worker import EXEMPT, NO_CONSENT, ON_REQUEST
from issuers.errors import NotFoundIssuingError
from issuers.issuing import Issuer
from issuers.requests import FactsIn, ParticipationOut
from registry import certificate_store, codes
from registry.verification import verified_record
from service.pages import school_records_forms as forms
from service.pages import view
from service.pages.deliveries import CHANNEL_TEXT, STATE_TEXT
from service.pages.school import RESULT_TEXT
from service.pages.web import Page

KIND_TEXT = {"ordinary": "Ordinær prøve", "rescheduled": "Flyttet prøve", "retake": "Omprøve"}
OUTCOME_TEXT = {
    "passed": "bestået",
    "failed": "ikke bestået",
    "absent": "udeblevet",
    "postponed": "udsat",
    "delivered": "leveret",
    "running": "i gang",
    "dead": "opgivet",
    "rescheduled": "flyttet til senere",
    "abandoned": "opgivet",
    "superseded": "erstattet",
}
PURPOSE_TEXT = {
    "issue": "Udstedelse",
    "digital-after-paper": "Digitalt efter papir",
    "paper-on-request": "Papir efter anmodning",
}
NOTE_TEXT = {
    EXEMPT: "Deltageren er fritaget for Digital Post, så beviset gik på papir.",
    NO_CONSENT: "Deltageren har intet samtykke til e-Boks, så beviset gik på papir.",
    ON_REQUEST: "En papirkopi er bestilt, fordi en myndighed eller organisation kræver papir.",
}


def _form_id() -> str:
    return secrets.token_urlsafe(18)


def result_text(group: int | None, category: int | None) -> str | None:
    return RESULT_TEXT.get((group or 0, category or 0)) if category else None


def hit_line(h: overview_store.ParticipantHit) -> dict[str, Any]:
    return {
        "participation": h.participation_id,
        "team": h.team_id,
        "team_reference": h.team_reference,
        "goal": h.goal_number,
        "name": h.name,
        "cpr": mask(h.cpr),
        "result": result_text(h.result_group, h.result_category),
        "certificates": h.certificates,
    }


# -- the pages with their forms ------------------------------------------------------------


def _errors(refused: forms.FormError | None) -> tuple[dict[str, str], str | None]:
    return (refused.errors, refused.message) if refused else ({}, None)


async def participation_page(
    page: Page,
    pool: asyncpg.Pool,
    issuer: Issuer,
    participation_id: uuid.UUID,
    *,
    done: str | None = None,
    form: str | None = None,
    entered: Mapping[str, str] | None = None,
    refused: forms.FormError | None = None,
    status_code: int | None = None,
) -> Template:
    async with pool.acquire() as conn:
        school_id = (await page.current_staff(conn)).subject
        team_id = await overview_store.team_of_participation(conn, school_id, participation_id)
        facts = await overview_store.facts_of(conn, school_id, participation_id)
    if team_id is None or facts is None:
        raise NotFoundException
    try:
        out = await issuer.participation(school_id, participation_id)
    except NotFoundIssuingError as e:
        raise NotFoundException from e
    errors, message = _errors(refused)
    return page.render(
        "school_team_participation.html",
        {
            "p": _participation_view(out, participations.facts_from_json(facts)),
            "team_id": team_id,
            "done": done,
            "form": form,
            "entered": entered or {},
            "errors": errors,
            "message": message,
            "ids": {name: _form_id() for name in ("proeve", *forms.FACT_FORMS)},
        },
        status_code=status_code or (400 if refused else 200),
    )


def _participation_view(out: ParticipationOut, facts: FactsIn) -> dict[str, Any]:
    d = out.deadlines
    return {
        "id": out.participation,
        "name": out.name,
        "team_reference": out.team_reference,
        "goal": out.goal,
        "result": result_text(out.result_group, out.result_category) or "Intet resultat endnu",
        "final": out.final,
        "retake_right": out.retake_right,
        "deadlines": [
            (label, view.day(when))
            for label, when in (
                ("Bevis senest", d.certificate_by),
                ("Resultat meddelt senest", d.result_notice_by),
                ("Klagefrist", d.complaint_by),
                ("Omprøve senest", d.retake_by),
            )
            if when is not None
        ],
        "attempts": [
            {
                "day": view.day(a.held_on),
                "kind": KIND_TEXT.get(a.kind, a.kind),
                "outcome": OUTCOME_TEXT.get(a.outcome, a.outcome),
                "retake": a.is_retake,
            }
            for a in out.attempts
        ],
        "certificates": [c.number for c in out.certificates],
        "dispensation": facts.dispensation is not None,
        "judgement": facts.judgement.value if facts.judgement else None,
        "dropped_out": facts.dropped_out,
        "ikv": [(g.goal, g.result.value) for g in facts.ikv or []],
    }


async def certificate_page(
    page: Page,
    pool: asyncpg.Pool,
    delivery_desk: DeliveryDesk,
    number: str,
    *,
    done: str | None = None,
    form: str | None = None,
    entered: Mapping[str, str] | None = None,
    refused: forms.FormError | None = None,
    status_code: int | None = None,
) -> Template:
    if not codes.is_certificate_number(number):
        raise NotFoundException
    async with pool.acquire() as conn:
        school_id = (await page.current_staff(conn)).subject
        stored = await certificate_store.certificate(conn, number)
        if stored is None or stored.school_id != school_id:
            raise NotFoundException  # another school's reads as none at all
        record = await verified_record(conn, stored)
    if record is None:
        raise NotFoundException  # a row that fails its signature is never shown as a record
    histories = await delivery_desk.certificate_deliveries(school_id, number)
    status = stored.status
    errors, message = _errors(refused)
    return page.render(
        "school_certificate.html",
        {
            "c": view.certificate_view(
                record,
                status=status.kind if status else "valid",
                status_at=status.at if status else None,
                replaced_by=status.replaced_by if status else None,
                status_reason=status.reason if status else None,
            ),
            "show_name": True,
            "record": {
                "name": record.participant.name,
                "cpr": mask(record.participant.cpr),
                "team": record.team,
                "start": record.course_start.isoformat(),
                "end": record.course_end.isoformat(),
                "exam": record.exam_date.isoformat() if record.exam_date else "",
                "exam_passed": record.annotations.exam_passed,
                "dispensation": record.annotations.dispensation,
                "ikv": record.annotations.ikv,
            },
            "deliveries": [
                {
                    "purpose": PURPOSE_TEXT.get(h.job.purpose.value, h.job.purpose.value),
                    "state": STATE_TEXT.get(h.job.state.value, h.job.state.value),
                    "channel": CHANNEL_TEXT.get(h.job.channel.value, None)
                    if h.job.channel
                    else None,
                    "due": view.day(h.job.due_on),
                    "note": NOTE_TEXT.get(h.job.note or ""),
                    "request_reason": h.job.request_reason,
                    "error": h.job.last_error,
                    "attempts": [
                        {
                            "number": a.number,
                            "started": view.when(a.started_at),
                            "outcome": OUTCOME_TEXT.get(a.outcome or "running", a.outcome),
                            "channel": CHANNEL_TEXT.get(a.channel.value, None)
                            if a.channel
                            else None,
                            "detail": a.detail,
                            "receipt": a.receipt,
                        }
                        for a in h.attempts
                    ],
                }
                for h in histories
            ],
            "done": done,
            "form": form,
            "entered": entered or {},
            "errors": errors,
            "message": message,
            "ids": {name: _form_id() for name in ("ret", "tilbagekald", "papir")},
        },
        status_code=status_code or (400 if refused else 200),
    )
