"""What the administrator's API-credential pages show of a credential and its audit trail, in
Danish (``service.pages.school_admin``)."""

from __future__ import annotations

from typing import Any

from issuers import credentials
from issuers.credentials import CredentialEvent, CredentialInfo
from registry.clock import Clock
from service.pages import view

EVENT_TEXT = {
    "created": "Oprettet",
    "rotated": "Fornyet",
    "revoked": "Tilbagekaldt",
    "used": "Brugt",
    "refused": "Afvist",
}


def _moment(at: Any) -> str:
    return view.when(at) if at is not None else ""


def label_error(label: str) -> str:
    """What to say under the name field about a label ``credentials.create`` refused."""
    if not label.strip():
        return "Skriv et navn på nøglen, fx det system, der skal bruge den."
    if len(label.strip()) > credentials.LABEL_MAX:
        return f"Navnet må højst være {credentials.LABEL_MAX} tegn."
    return "Navnet indeholder tegn, der ikke kan gemmes. Brug bogstaver, tal og tegnsætning."


def state_text(info: CredentialInfo, clock: Clock) -> str:
    """The credential's state as the list and its page say it."""
    state = credentials.state(info, clock())
    if state == "revoked":
        return f"Tilbagekaldt {_moment(info.revoked_at)}"
    if state == "replaced":
        return f"Fornyet – virker til {_moment(info.expires_at)}"
    if state == "expired":
        return f"Fornyet – holdt op med at virke {_moment(info.expires_at)}"
    return "Aktiv"


def credential_line(info: CredentialInfo, clock: Clock) -> dict[str, Any]:
    state = credentials.state(info, clock())
    return {
        "id": info.id,
        "label": info.label,
        "created": view.when(info.created_at),
        "by": info.created_by or "–",
        "last_used": _moment(info.last_used_at) or "Aldrig",
        "state": state,
        "state_text": state_text(info, clock),
        "replaced_by": info.replaced_by,
        "may_rotate": state == "active",
        "may_revoke": state in {"active", "replaced"},
    }


def event_line(event: CredentialEvent) -> dict[str, Any]:
    return {
        "at": view.when(event.at),
        "event": EVENT_TEXT.get(event.event, event.event),
        "actor": event.actor,
        "route": event.route or "",
        "client": event.client or "",
        "detail": event.detail or "",
    }
