"""Secrets stay out of every log (issue 12).

`amu-bevis serve` runs in a subprocess on its own embedded PostgreSQL, so that both the
process's output and PostgreSQL's own log file belong to this test alone. A scripted session
drives it the way people and schools do, bad input and CPR-shaped URLs included, and collects
every secret it sees on the way: CPR numbers, participants' names, verification codes, share
tokens, login codes and tokens, session ids, CSRF tokens, school credentials. Then every line
of every log is searched for each of them.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from service.demo import DEMO_PEOPLE
from tests.helpers import ASE, BO, demo_credentials, team_body

CPR_SHAPED = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
HIDDEN = re.compile(r'type="hidden" name="(\w+)" value="([^"]*)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    base: str
    output: Path  # the process's stdout and stderr
    data: Path  # AMU_DATA_DIR
    pg_log: Path  # the embedded PostgreSQL's own log
    secrets: set[str] = field(default_factory=set)

    def lines(self) -> list[str]:
        text = self.output.read_text(errors="replace").splitlines()
        return text + self.pg_log.read_text(errors="replace").splitlines()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port = _free_port()
    data = tmp_path / "data"
    output = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {
        "AMU_DATA_DIR": str(data),
        "AMU_PORT": str(port),
        "AMU_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "AMU_DEBUG": "1",  # the most verbose logging there is
    }
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--demo"],
            env=env,
            stdout=out,
            stderr=out,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(f"{base}/api/keys", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    pytest.fail(f"serve exited:\n{output.read_text()}")
                time.sleep(0.1)
        else:
            pytest.fail(f"serve did not come up:\n{output.read_text()}")
        yield Served(base, output, data, data / "pg" / "log")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def _csrf(response: httpx.Response) -> str:
    found = CSRF.search(response.text)
    assert found, response.text
    return found.group(1)


def _drive(served: Served) -> None:
    secrets = served.secrets
    credentials = demo_credentials(served.data)
    credential = credentials["751234"]
    secrets |= set(credentials.values())
    secrets |= {name for _, name in DEMO_PEOPLE} | {"Åse", "Ødegård", "Fatima Yilmaz"}
    school = {"Authorization": f"Bearer {credential}"}
    with httpx.Client(base_url=served.base) as http:
        # A school reports a team: certificates with live verification codes.
        issued = http.post(
            "/api/schools/751234/teams",
            json=team_body(reference="LOG-1"),
            headers={**school, "Idempotency-Key": "log-1"},
        )
        assert issued.status_code == 201, issued.text
        certificate = issued.json()["participants"][0]["certificate"]
        number, code = certificate["number"], certificate["verificationCode"]
        secrets.add(code)

        # Bad input: an impossible CPR number, the same person twice on a team, the same team
        # again, a wrong credential.
        bad = team_body([{"cpr": "310290-1234", "name": "Xenia Ulvsdottir", "exam": "passed"}])
        secrets.add("Xenia Ulvsdottir")
        refused = http.post(
            "/api/schools/751234/teams",
            json={**bad, "team": {**bad["team"], "reference": "LOG-2"}},
            headers={**school, "Idempotency-Key": "log-2"},
        )
        assert refused.status_code == 422, refused.text
        twice = team_body(
            [
                {"cpr": BO, "name": "Bo Jensen", "exam": "passed"},
                {"cpr": BO, "name": "Bo Jensen", "exam": "passed"},
            ],
            reference="LOG-3",
        )
        answer = http.post(
            "/api/schools/751234/teams", json=twice, headers={**school, "Idempotency-Key": "log-3"}
        )
        assert answer.status_code in {409, 422}, answer.text
        again = http.post(
            "/api/schools/751234/teams",
            json=team_body(reference="LOG-1"),
            headers={**school, "Idempotency-Key": "log-4"},
        )
        assert again.status_code == 409, again.text
        wrong = http.get(
            "/api/schools/751234/overdue", headers={"Authorization": "Bearer amu_wrong_credential"}
        )
        assert wrong.status_code == 401, wrong.text
        secrets.add("amu_wrong_credential")
        # CPR digits that are not ASCII: refused at the edge, or else by the table's CHECK
        # constraint, whose DETAIL line would quote the whole row.
        odd = team_body(
            [{"cpr": "٠١٠١٩٠-١٢٣٤", "name": "Xenia Ulvsdottir", "exam": "passed"}],
            reference="LOG-5",
        )
        http.post(
            "/api/schools/751234/teams", json=odd, headers={**school, "Idempotency-Key": "log-5"}
        )

        # Authorities verify, rightly and wrongly, over the API and the page; CPR-shaped URLs.
        verified = http.get(f"/api/verify/{number}", params={"code": code})
        assert verified.json()["status"] == "valid", verified.text
        assert http.get(f"/api/verify/{number}", params={"code": "WRNG-CODE"}).status_code in {
            200,
            404,
        }
        secrets.add("WRNG-CODE")
        page = http.get(f"/tjek/{number}", params={"kode": code})  # the QR code's URL
        assert "gyldigt" in page.text.lower(), page.text
        form = http.get("/tjek", params={"nummer": number, "kode": code}, follow_redirects=True)
        assert form.status_code == 200, form.text
        assert http.get("/tjek", params={"nummer": ASE}).status_code == 400
        http.get(f"/tjek/{ASE}", params={"kode": "ABCD-EFGH"})
        http.get(f"/api/verify/{BO}", params={"code": "ABCD-EFGH"})
        http.get(f"/api/verify/{number}", params={"code": ASE})
        secrets.add("ABCD-EFGH")

        # A participant logs in over the API and reads their certificates.
        login = http.post("/api/dev/login", json={"cpr": ASE})
        assert login.status_code == 201, login.text
        token = login.json()["token"]
        secrets.add(token)
        mine = http.get("/api/me/certificates", headers={"Authorization": f"Bearer {token}"})
        assert number in {c["number"] for c in mine.json()}, mine.text

    with httpx.Client(base_url=served.base) as browser:
        # The same person in a browser: the login code travels in the callback's URL.
        start = browser.get("/mine-beviser/log-ind")
        secrets.add(_csrf(start))
        to_broker = browser.post("/mine-beviser/log-ind", data={"_csrf_token": _csrf(start)})
        assert to_broker.status_code == 303, to_broker.text
        broker = browser.get(to_broker.headers["location"])
        hidden = dict(HIDDEN.findall(broker.text))
        assert {"state", "nonce", "redirect_uri", "_csrf_token"} <= hidden.keys(), broker.text
        secrets |= {hidden["state"], hidden["nonce"]}
        chosen = browser.post("/udvikling/log-ind", data={**hidden, "cpr": ASE})
        assert chosen.status_code == 303, chosen.text
        callback = chosen.headers["location"]
        login_code = httpx.URL(callback).params["code"]
        secrets.add(login_code)
        home = browser.get(callback, follow_redirects=True)
        assert number in home.text, home.text
        secrets.add(browser.cookies["amu_session"])

        # They share the certificate; an employer opens the link, and someone guesses one.
        own = browser.get(f"/mine-beviser/{number}")
        shared = browser.post(
            f"/mine-beviser/{number}/del", data={"_csrf_token": _csrf(own), "dage": "7"}
        )
        link = re.search(r"/delt/([A-Za-z0-9_-]{20,})", shared.text)
        assert link, shared.text
        secrets.add(link.group(1))
        employer = httpx.get(f"{served.base}/delt/{link.group(1)}")
        assert employer.status_code == 200, employer.text
        assert httpx.get(f"{served.base}/delt/{ASE}").status_code == 404

    for subject, admitted in (("demo-peter-nielsen", False), ("demo-karen-holm", True)):
        with httpx.Client(base_url=served.base) as staff:
            # The school's staff log in as themselves; one without a role is refused.
            form_page = staff.get("/skole/log-ind")
            to_broker = staff.post("/skole/log-ind", data={"_csrf_token": _csrf(form_page)})
            assert to_broker.status_code == 303, to_broker.text
            hidden = dict(HIDDEN.findall(staff.get(to_broker.headers["location"]).text))
            chosen = staff.post(
                "/udvikling/log-ind/medarbejder", data={**hidden, "subject": subject}
            )
            assert chosen.status_code == 303, chosen.text
            secrets.add(httpx.URL(chosen.headers["location"]).params["code"])
            answer = staff.get(chosen.headers["location"])
            assert answer.status_code == (303 if admitted else 403), answer.text
            if admitted:
                secrets.add(staff.cookies["amu_session"])
                assert "Karen Holm" in staff.get("/skole").text


async def _violate_constraints(uri: str) -> None:
    """Constraint violations from an ordinary client (not the service's pool): the embedded
    server's own configuration must keep their DETAIL lines and statements out of its log."""
    conn = await asyncpg.connect(uri)
    try:
        await conn.execute(
            "CREATE TEMP TABLE person (cpr text UNIQUE CHECK (cpr ~ '^[0-9]{6}-[0-9]{4}$'), "
            "name text)"
        )
        insert = "INSERT INTO person VALUES ($1, $2)"
        await conn.execute(insert, ASE, "Xenia Ulvsdottir")
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(insert, ASE, "Xenia Ulvsdottir")
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(insert, "0101901234", "Xenia Ulvsdottir")
    finally:
        await conn.close()


def test_no_log_line_carries_a_secret(served: Served) -> None:
    _drive(served)
    # The serving process's server, by its socket folder: joining it through pgserver here
    # would register this process as a user, and the server would outlive `serve`.
    uri = f"postgresql://postgres:@/postgres?host={(served.data / 'pg').resolve()}"
    asyncio.run(_violate_constraints(uri))
    time.sleep(0.5)  # let the access log and PostgreSQL flush
    lines = served.lines()
    # The logs are the ones meant: the access log and PostgreSQL's log were both captured.
    assert any("/api/schools/751234/teams" in line for line in lines)
    assert any("database system is ready" in line for line in lines)
    leaks = [line for line in lines if CPR_SHAPED.search(line)]
    leaks += [
        f"{secret!r} in: {line}" for line in lines for secret in served.secrets if secret in line
    ]
    assert leaks == [], "\n".join(leaks[:40])
    print(f"log lines scanned: {len(lines)}, secrets searched: {len(served.secrets)}")  # noqa: T201
