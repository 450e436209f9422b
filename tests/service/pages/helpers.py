"""Small builders for the page tests: forms with their CSRF token, logins through the pages."""

from __future__ import annotations

import re
from typing import Any

from tests.helpers import Client

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


async def submit(client: Client, page: str, action: str, fields: dict[str, str]) -> Any:
    """GET ``page`` for its CSRF token, then POST ``fields`` to ``action`` (no redirects)."""
    form = await client.get(page)
    return await client.post(
        action, data={**fields, "csrf": csrf_of(form.text)}, follow_redirects=False
    )


async def person_login(client: Client, cpr: str) -> None:
    """Log in through the pages: the authorization-code flow with the demo-person page."""
    start = await submit(client, "/mine-beviser/log-ind", "/mine-beviser/log-ind", {})
    assert start.status_code == 303, start.text
    broker = start.headers["location"]
    chooser = await client.get(broker)
    assert chooser.status_code == 200, chooser.text
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', chooser.text))
    assert {"state", "nonce", "redirect_uri", "csrf"} <= hidden.keys(), chooser.text
    back = await client.post(
        "/udvikling/log-ind", data={**hidden, "cpr": cpr}, follow_redirects=False
    )
    assert back.status_code == 303, back.text
    assert cpr not in back.headers["location"]
    done = await client.get(back.headers["location"], follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/mine-beviser"


async def school_login(client: Client, token: str) -> Any:
    return await submit(client, "/skole/log-ind", "/skole/log-ind", {"noegle": token})
