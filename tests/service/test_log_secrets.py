"""Secrets stay out of every log (issue 12).

`amu-bevis serve` runs in a subprocess on its own embedded PostgreSQL, so that both the
process's output and PostgreSQL's own log file belong to this test alone. A scripted session
drives it the way people and schools do, bad input and CPR-shaped URLs included, and collects
every secret it sees on the way: CPR numbers, participants' names, verification codes, share
tokens, login codes and tokens, session ids, CSRF tokens, school credentials. Then every line
of every log is searched for each of them, in the JSON lines' decoded values as well.

The same run shows the one log format: every line the process logs is a JSON object, and every
request's access line carries the request's id.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from service.demo import DEMO_PEOPLE
from tests.helpers import ASE, BO, demo_credentials, team_body
from tests.processes import free_port

CPR_SHAPED = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
HIDDEN = re.compile(r'type="hidden" name="(\w+)" value="([^"]*)"')


@dataclass
class Served:
    base: str
    output: Path  # the process's stdout: what it prints for the person who started it
    log: Path  # the process's stderr: its log
    data: Path  # AMU_DATA_DIR
    pg_log: Path  # the embedded PostgreSQL's own log
    metrics: str  # the metrics listener's URL
    secrets: set[str] = field(default_factory=set)

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def lines(self) -> list[str]:
        """Every line of every log, and of each JSON line its decoded string values too (a
        secret escaped in JSON is still a secret)."""
        text = self.output.read_text(errors="replace").splitlines() + self.log_lines()
        decoded = [
            " ".join(str(v) for v in json.loads(line).values())
            for line in self.log_lines()
            if line.startswith("{")
        ]
        return text + decoded + self.pg_log.read_text(errors="replace").splitlines()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One `serve --demo` for this module's tests, logging JSON (demo mode's default is the
    console format, for people)."""
    tmp_path = tmp_path_factory.mktemp("served")
    port, metrics_port = free_port(), free_port()
    data = tmp_path / "data"
    output, log = tmp_path / "serve.out", tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {
        "AMU_DATA_DIR": str(data),
        "AMU_PORT": str(port),
        "AMU_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "AMU_DEBUG": "1",  # the most verbose logging there is
        "AMU_LOG_FORMAT": "json",
        "AMU_METRICS_PORT": str(metrics_port),
    }
    with output.open("wb") as out, log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--demo"],
            env=env,
            stdout=out,
            stderr=err,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(f"{base}/api/keys", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    pytest.fail(f"serve exited:\n{log.read_text()}")
                time.sleep(0.1)
        else:
            pytest.fail(f"serve did not come up:\n{log.read_text()}")
        metrics = f"http://127.0.0.1:{metrics_port}/metrics"
        yield Served(base, output, log, data, data / "pg" / "log", metrics)
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


def _json_lines(served: Served) -> list[dict[str, Any]]:
    lines = served.log_lines()
    assert lines
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a log line that is not JSON: {line!r}")
    return parsed


def test_every_log_line_is_json_and_request_lines_carry_the_request_id(served: Served) -> None:
    with httpx.Client(base_url=served.base) as http:
        chosen = http.get("/api/keys", headers={"X-Request-ID": "probe-7f3a9c21"})
        made = http.get("/health/live")
        missing = http.get("/no/such/page")
        ready = http.get("/health/ready")
    assert chosen.headers["x-request-id"] == "probe-7f3a9c21"
    assert (missing.status_code, ready.status_code) == (404, 200)
    ids = {r.headers["x-request-id"] for r in (chosen, made, missing, ready)}
    assert len(ids) == 4
    # The metrics are on their own listener, not on the API's port.
    assert "amu_http_request_duration_seconds_count" in httpx.get(served.metrics).text
    assert httpx.get(f"{served.base}/metrics").status_code == 404
    time.sleep(0.5)  # let the access log flush
    lines = _json_lines(served)
    for line in lines:
        assert {"event", "level", "timestamp", "logger"} <= line.keys(), line
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert access
    for line in access:
        assert line.get("request_id"), line
        assert {"method", "path", "status"} <= line.keys(), line
    ours = {line["request_id"]: line for line in access if line["request_id"] in ids}
    assert ours.keys() == ids
    assert (ours["probe-7f3a9c21"]["path"], ours["probe-7f3a9c21"]["status"]) == ("/api/keys", 200)
    loggers = {line["logger"] for line in lines}
    assert {"uvicorn.error", "uvicorn.access", "amu-bevis", "service.delivery"} <= loggers
