"""Small builders for the page tests: forms with their CSRF token, logins through the pages."""

from __future__ import annotations

import re
from typing import Any

from tests.helpers import Client

CSRF_FIELD = "_csrf_token"  # Litestar's CSRF middleware reads the form's token from this field
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
_HIDDEN = re.compile(r'type="hidden" name="(\w+)" value="([^"]*)"')

# The demo's staff (service/demo.py DEMO_STAFF): subjects of the development staff login.
KAREN = "demo-karen-holm"  # administrator at 751234 Erhvervsskolen Nordvest
MADS = "demo-mads-lund"  # registrar at 751234
SOFIE = "demo-sofie-berg"  # administrator at 863410 Kursuscenter Øresund
PETER = "demo-peter-nielsen"  # works for 751234's organisation, holds no role


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


async def submit(client: Client, page: str, action: str, fields: dict[str, str]) -> Any:
    """GET ``page`` for its CSRF token, then POST ``fields`` to ``action`` (no redirects)."""
    form = await client.get(page)
    return await client.post(
        action, data={**fields, CSRF_FIELD: csrf_of(form.text)}, follow_redirects=False
    )


async def person_login(client: Client, cpr: str) -> None:
    """Log in through the pages: the authorization-code flow with the demo-person page."""
    start = await submit(client, "/mine-beviser/log-ind", "/mine-beviser/log-ind", {})
    assert start.status_code == 303, start.text
    broker = start.headers["location"]
    chooser = await client.get(broker)
    assert chooser.status_code == 200, chooser.text
    hidden = dict(_HIDDEN.findall(chooser.text))
    assert {"state", "nonce", "redirect_uri", CSRF_FIELD} <= hidden.keys(), chooser.text
    back = await client.post(
        "/udvikling/log-ind", data={**hidden, "cpr": cpr}, follow_redirects=False
    )
    assert back.status_code == 303, back.text
    assert cpr not in back.headers["location"]
    done = await client.get(back.headers["location"], follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/mine-beviser"


async def staff_login(client: Client, subject: str) -> Any:
    """Log in a school's staff member through the pages and the demo staff page; the answer of
    the callback (a redirect to /skole, the school choice, or the no-access page)."""
    start = await submit(client, "/skole/log-ind", "/skole/log-ind", {})
    assert start.status_code == 303, start.text
    chooser = await client.get(start.headers["location"])
    assert chooser.status_code == 200, chooser.text
    hidden = dict(_HIDDEN.findall(chooser.text))
    assert {"state", "nonce", "redirect_uri", CSRF_FIELD} <= hidden.keys(), chooser.text
    back = await client.post(
        "/udvikling/log-ind/medarbejder",
        data={**hidden, "subject": subject},
        follow_redirects=False,
    )
    assert back.status_code == 303, back.text
    return await client.get(back.headers["location"], follow_redirects=False)


async def school_login(client: Client, subject: str = KAREN) -> Any:
    """A staff login that must land on the school's overview."""
    done = await staff_login(client, subject)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/skole"
    return done
