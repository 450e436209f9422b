"""Screenshots of every page at phone (360 px) and desktop (1280 px) width, into
docs/screenshots/. Run by ``scripts/screenshots``; needs Debian's Chromium.

The data is made the way the product makes it: the demo schools report teams over the API, a
participant shares a certificate and an employer opens it, someone checks one by its QR URL.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

from service.embedded import start_embedded
from tests.conftest import NOW, FixedClock
from tests.helpers import ASE, BO
from tests.service.pages.live import CHROMIUM, CHROMIUM_ARGS, LiveServer, fresh_schema

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "docs" / "screenshots"
WIDTHS = {"phone": (360, 740), "desktop": (1280, 860)}
FATIMA = "150372-2468"


def _team(reference: str, goal: str, start: str, end: str, people: list[dict[str, Any]]) -> Any:
    return {
        "team": {"reference": reference, "goal": goal, "start": start, "end": end},
        "participants": people,
    }


def _make_data(live: LiveServer) -> dict[str, dict[str, Any]]:
    tokens = live.seed()
    hygiene = live.issue(
        tokens.public,
        _team(
            "H-101",
            "48113",
            "2026-11-09",
            "2026-11-10",
            [
                {"cpr": ASE, "name": "Åse Ødegård", "exam": "passed"},
                {"cpr": BO, "name": "Bo Jensen", "exam": "failed"},
                {"cpr": FATIMA, "name": "Fatima Yilmaz", "exam": "passed"},
            ],
        ),
    )
    welding = live.issue(
        tokens.public,
        _team(
            "S-214",
            "40125",
            "2026-09-07",
            "2026-09-11",
            [
                {
                    "cpr": ASE,
                    "name": "Åse Ødegård",
                    "dispensation": {"appliedByParticipant": True, "assessmentReplacesExam": True},
                    "judgement": "goal-reached",
                }
            ],
        ),
    )
    first_aid = live.issue(
        tokens.private,
        _team(
            "FH-7",
            "42638",
            "2026-03-02",
            "2026-03-02",
            [{"cpr": ASE, "name": "Åse Ødegård", "judgement": "goal-reached"}],
        ),
        school="863410",
    )
    revoked = hygiene[2]["certificate"]
    live.sql(
        """INSERT INTO certificate_events (certificate_number, kind, reason, at)
           VALUES ($1, 'revoked', 'issued-in-error', $2)""",
        revoked["number"],
        NOW,
    )
    return {
        "hygiene": hygiene[0]["certificate"],
        "welding": welding[0]["certificate"],
        "first_aid": first_aid[0]["certificate"],
        "revoked": revoked,
    }


def _shoot(page: Page, name: str) -> None:
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(OUT / f"{name}-{label}.png"), full_page=True)
        print(f"docs/screenshots/{name}-{label}.png")  # noqa: T201 - the command's output


def _log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/mine-beviser/log-ind")
    page.get_by_role("button", name="Log ind med MitID").click()
    page.get_by_label("Åse Ødegård").check()
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(f"{base}/mine-beviser")


def shoot_all(live: LiveServer, launch: Callable[[], Any]) -> None:
    data = _make_data(live)
    base = live.base_url
    browser = launch()
    holder = browser.new_page()
    holder.goto(f"{base}/")
    _shoot(holder, "forside")
    holder.goto(f"{base}/mine-beviser/log-ind")
    _shoot(holder, "log-ind")
    holder.get_by_role("button", name="Log ind med MitID").click()
    _shoot(holder, "demo-log-ind")
    holder.get_by_label("Åse Ødegård").check()
    holder.get_by_role("button", name="Log ind").click()
    holder.wait_for_url(f"{base}/mine-beviser")
    _shoot(holder, "mine-beviser")

    number = data["hygiene"]["number"]
    holder.goto(f"{base}/mine-beviser/{number}")
    holder.get_by_role("button", name="Opret link").click()
    link = holder.get_by_label("Link til beviset").input_value()
    _shoot(holder, "bevis-med-nyt-link")

    employer = browser.new_context().new_page()
    employer.goto(link)
    _shoot(employer, "delt-bevis")
    employer.goto(data["hygiene"]["verifyUrl"])
    _shoot(employer, "tjek-gyldigt")
    employer.goto(f"{base}/tjek")
    _shoot(employer, "tjek")
    employer.goto(data["revoked"]["verifyUrl"])
    _shoot(employer, "tjek-tilbagekaldt")
    employer.goto(f"{base}/tjek/{number}?kode=AAAA-AAAA")
    _shoot(employer, "tjek-ukendt")

    holder.goto(f"{base}/mine-beviser/{number}")
    _shoot(holder, "bevis")
    holder.goto(f"{base}/mine-beviser/adgang")
    _shoot(holder, "adgangslog")
    holder.goto(f"{base}/mine-beviser/{number}")
    holder.get_by_role("button", name="Træk tilbage").first.click()
    employer.goto(link)
    _shoot(employer, "delt-link-tilbagekaldt")

    school = browser.new_context().new_page()
    school.goto(f"{base}/skole/log-ind")
    _shoot(school, "skole-log-ind")
    school.get_by_role("button", name="Log ind med MitID Erhverv").click()
    _shoot(school, "demo-medarbejder-log-ind")
    school.get_by_label("Karen Holm").check()
    school.get_by_role("button", name="Log ind").click()
    school.wait_for_url(f"{base}/skole")
    _shoot(school, "skole")
    school.goto(f"{base}/skole/medarbejdere")
    _shoot(school, "skole-medarbejdere")
    school.goto(f"{base}/skole/api-noegler")
    _shoot(school, "skole-api-noegler")
    school.get_by_label("Navn på nøglen").fill("Studieadministration")
    school.get_by_role("button", name="Opret nøgle").click()
    _shoot(school, "skole-ny-api-noegle")
    school.get_by_role("link", name="Se nøglen").click()
    _shoot(school, "skole-api-noegle")
    _shoot_report(school, base)
    _shoot_records(school, base, number)


def _shoot_report(school: Page, base: str) -> None:
    """Indberet hold: the form, its preview and the answer; the upload form."""
    school.goto(f"{base}/skole/hold/ny")
    _shoot(school, "skole-indberet-hold")
    school.get_by_label("Mål (målnummer)").fill("48113")
    school.get_by_label("Holdreference").fill("H-102")
    school.get_by_label("Startdato").fill("2026-11-16")
    school.get_by_label("Slutdato").fill("2026-11-17")
    first = school.get_by_role("group", name="Deltager 1", exact=True)
    first.get_by_label("CPR-nummer").fill(BO)
    first.get_by_label("Navn").fill("Bo Jensen")
    first.get_by_label("Resultat").select_option("passed")
    school.get_by_role("button", name="Se forhåndsvisning").click()
    _shoot(school, "skole-indberet-hold-forhaandsvisning")
    school.get_by_role("button", name="Indberet", exact=True).click()
    _shoot(school, "skole-indberet-hold-indberettet")
    school.goto(f"{base}/skole/hold/upload")
    _shoot(school, "skole-indberet-hold-fil")


def _shoot_records(school: Page, base: str, number: str) -> None:
    """The school's records: teams, a team, a participation, participants, certificates."""
    school.goto(f"{base}/skole/hold")
    _shoot(school, "skole-hold")
    school.locator("main a[href^='/skole/hold/']").filter(has_text="H-101").first.click()
    school.wait_for_url(f"{base}/skole/hold/*")
    _shoot(school, "skole-et-hold")
    school.locator("main a[href^='/skole/deltagelser/']").first.click()
    school.wait_for_url(f"{base}/skole/deltagelser/*")
    _shoot(school, "skole-deltagelse")
    school.goto(f"{base}/skole/deltagere?q=Bo")
    _shoot(school, "skole-deltagere")
    school.goto(f"{base}/skole/beviser?q={number[:4]}")
    _shoot(school, "skole-beviser")
    school.goto(f"{base}/skole/beviser/{number}")
    _shoot(school, "skole-et-bevis")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") or start_embedded(ROOT / ".data" / "test")
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_schema(database_url) as schema,
        LiveServer(database_url, schema, Path(tmp), FixedClock(NOW)) as live,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            shoot_all(live, lambda: browser)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
