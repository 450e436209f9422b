"""A real streaming replica of the test database server, for the tests of replica reads.

`start_replica(primary_url)` takes a base backup of the primary with ``pg_basebackup -R`` into a
fresh folder, starts it as a hot standby listening on 127.0.0.1 on a free port, and waits until
its WAL receiver is streaming; `Replica.stop()` stops it by its postmaster's PID and deletes the
folder::

    replica = start_replica(database_url)
    url = replica.url_for(service_url)          # the same role and database, on the replica
    await replica.wait_caught_up()
    async with replica.paused():                # replay stops: the replica lags behind
        ...
    replica.stop()

Binaries: the ones whose major version is the primary server's (pgserver's bundled ones for the
embedded server, /usr/lib/postgresql/<major>/bin for the machine's). PostgreSQL refuses to run as
root: under root the replica runs as the owner of the primary's data folder (else ``postgres``).

Replication connections need a ``replication`` line in the primary's pg_hba.conf. When the
primary has none that admits us (the machine's server has only ``all`` lines, which do not
match replication), `start_replica` ADDS ONE to the primary's live pg_hba.conf (``host
replication <superuser> 127.0.0.1/32 trust``, marked with a token) and reloads the server's
configuration; `Replica.stop()` removes that line and reloads again.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

# One advisory lock key for every process that edits the primary's pg_hba.conf (other test runs
# share the machine's server): their read-modify-write of the file must not interleave.
_HBA_LOCK = 0x616D7568  # "amuh"
# Settings a hot standby must have at least as high as its primary's.
_AT_LEAST_PRIMARY = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


@dataclass
class Replica:
    """A running streaming replica of ``primary_url``'s server."""

    primary_url: str
    port: int
    folder: Path
    process: subprocess.Popen[bytes]
    hba_marker: str | None = None  # the token of the pg_hba.conf line we added, if we did
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        """The primary URL's user and database, on the replica."""
        return self.url_for(self.primary_url)

    def url_for(self, primary_url: str) -> str:
        """``primary_url`` (any role, any database of the primary) pointed at the replica."""
        parts = urlsplit(primary_url)
        userinfo = parts.netloc.rpartition("@")[0]
        query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")]
        netloc = (userinfo + "@" if userinfo else "") + f"127.0.0.1:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))

    async def replay_lsn(self) -> str:
        """The last WAL position the replica has replayed."""
        return str(await _fetch(self.url, "SELECT pg_last_wal_replay_lsn()::text"))

    async def caught_up(self) -> bool:
        """Whether the replica has replayed everything the primary had written by now."""
        target = await _fetch(self.primary_url, "SELECT pg_current_wal_lsn()::text")
        query = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"
        return bool(await _fetch(self.url, query, target))

    async def wait_caught_up(self, seconds: float = 30.0) -> None:
        """Wait until the replica has replayed what the primary had written at the call.
        Raises TimeoutError after ``seconds`` (replay paused, or not streaming)."""
        target = await _fetch(self.primary_url, "SELECT pg_current_wal_lsn()::text")
        query = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"
        await _poll(lambda: _fetch(self.url, query, target), seconds, "catch up")

    async def pause_replay(self) -> None:
        """Stop applying WAL (it still arrives): from now on the replica lags behind."""
        await _fetch(self.url, "SELECT pg_wal_replay_pause()")
        # Paused only once the startup process has seen the request.
        query = "SELECT pg_get_wal_replay_pause_state() = 'paused'"
        await _poll(lambda: _fetch(self.url, query), 10.0, "pause replay")

    async def resume_replay(self) -> None:
        """Apply WAL again."""
        await _fetch(self.url, "SELECT pg_wal_replay_resume()")

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """Replay paused for the block, resumed (and caught up) after it."""
        await self.pause_replay()
        try:
            yield
        finally:
            await self.resume_replay()
            await self.wait_caught_up()

    def stop(self) -> None:
        """Stop the replica by its postmaster's PID (fast shutdown), delete its folder, and
        remove the pg_hba.conf line `start_replica` added to the primary (reloading it)."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)  # fast shutdown
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            if self.hba_marker is not None:
                asyncio.run(_remove_hba_line(self.primary_url, self.hba_marker))

    def log(self) -> str:
        """The replica server's own log (for a failure's message)."""
        try:
            return (self.folder / "server.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""


def start_replica(primary_url: str, *, seconds: float = 120.0) -> Replica:
    """Base-backup the server of ``primary_url`` (a superuser's) and start it as a streaming
    replica on 127.0.0.1; returns once it streams. Raises RuntimeError (with the replica's log)
    when it does not start."""
    local = not urlsplit(primary_url).hostname  # a Unix socket (the embedded server)
    facts = asyncio.run(_primary_facts(primary_url, local=local))
    bindir = _bindir(int(facts["server_version_num"]) // 10000)
    user = _run_as(Path(facts["data_directory"]))
    folder = Path(tempfile.mkdtemp(prefix="amu-replica-"))
    pgdata = folder / "data"
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    marker = asyncio.run(_admit_replication(primary_url, facts))
    port = _free_port()
    process: subprocess.Popen[bytes] | None = None
    replica: Replica | None = None
    try:
        _base_backup(bindir, pgdata, primary_url, user, seconds)
        _write_config(pgdata, port, folder, facts)
        with (folder / "server.log").open("wb") as server_log:
            process = _run(
                [str(bindir / "postgres"), "-D", str(pgdata)],
                user,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a ^C to pytest does not reach it first
            )
        replica = Replica(primary_url, port, folder, process, hba_marker=marker)
        asyncio.run(_wait_streaming(replica, seconds))
    except Exception as e:
        log = replica.log() if replica else ""
        _undo(folder, process, replica, primary_url, marker)
        raise RuntimeError(f"the replica did not start: {e}\n{log}") from e
    except BaseException:
        _undo(folder, process, replica, primary_url, marker)
        raise
    return replica


def _base_backup(
    bindir: Path, pgdata: Path, primary_url: str, user: pwd.struct_passwd | None, seconds: float
) -> None:
    backup = _run(
        [
            str(bindir / "pg_basebackup"),
            "--pgdata",
            str(pgdata),
            "--write-recovery-conf",
            "--checkpoint=fast",
            "--wal-method=stream",
            "--no-sync",
            "--dbname",
            _libpq_conninfo(primary_url),
        ],
        user,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, stderr = backup.communicate(timeout=seconds)
    if backup.returncode != 0:
        raise RuntimeError(f"pg_basebackup failed: {stderr.decode(errors='replace')}")


def _undo(
    folder: Path,
    process: subprocess.Popen[bytes] | None,
    replica: Replica | None,
    primary_url: str,
    marker: str | None,
) -> None:
    """Take back what a failed start left: its server, its folder, its pg_hba.conf line."""
    if replica is not None:
        replica.stop()
        return
    if process is not None:
        process.kill()
        process.wait(timeout=10)
    shutil.rmtree(folder, ignore_errors=True)
    if marker is not None:
        asyncio.run(_remove_hba_line(primary_url, marker))


async def _fetch(url: str, query: str, *args: object) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def _poll(check: Callable[[], Awaitable[object]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the replica did not {what} within {seconds} s")
        await asyncio.sleep(0.05)


async def _primary_facts(primary_url: str, *, local: bool) -> dict[str, str]:
    conn = await asyncpg.connect(primary_url)
    try:
        names = ("server_version_num", "data_directory", "hba_file", *_AT_LEAST_PRIMARY)
        facts = {name: str(await conn.fetchval(f"SHOW {name}")) for name in names}
        facts["user"] = str(await conn.fetchval("SELECT current_user"))
        facts["admits"] = str(
            await conn.fetchval(
                "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database)"
                " AND auth_method = 'trust' AND error IS NULL"
                " AND ('all' = ANY(user_name) OR current_user = ANY(user_name))"
                " AND CASE WHEN $1 THEN type = 'local' ELSE address = '127.0.0.1' END",
                local,
            )
        )
        return facts
    finally:
        await conn.close()


def _bindir(major: int) -> Path:
    """The folder of PostgreSQL binaries of ``major`` (pg_basebackup must match the server)."""
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin")]
    # pgserver's bundled binaries, found without importing it (its import warns without
    # XDG_RUNTIME_DIR, and warnings are errors in tests).
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin is not None:
        candidates.insert(0, Path(spec.origin).parent / "pginstall" / "bin")
    for folder in candidates:
        postgres = folder / "postgres"
        if not postgres.exists():
            continue
        version = subprocess.run(  # noqa: S603 - a fixed binary
            [str(postgres), "--version"], check=True, capture_output=True, text=True
        ).stdout
        found = re.search(r"(\d+)(?:\.\d+)?", version)
        if found and int(found.group(1)) == major and (folder / "pg_basebackup").exists():
            return folder
    raise RuntimeError(f"no PostgreSQL {major} binaries (pg_basebackup, postgres) found")


def _run_as(primary_data: Path) -> pwd.struct_passwd | None:
    """Who runs the replica: PostgreSQL refuses root, so root hands it to the primary's owner."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(OSError, KeyError):
        return pwd.getpwuid(primary_data.stat().st_uid)
    return pwd.getpwnam("postgres")


def _run(args: list[str], user: pwd.struct_passwd | None, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start ``args`` as ``user`` (None: as ourselves)."""
    if user is None:
        return subprocess.Popen(args, **kwargs)  # noqa: S603 - our own arguments
    env = {**os.environ, "HOME": user.pw_dir, "USER": user.pw_name}
    return subprocess.Popen(  # noqa: S603 - our own arguments
        args, user=user.pw_uid, group=user.pw_gid, extra_groups=[], env=env, **kwargs
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _libpq_conninfo(url: str) -> str:
    """The URL as libpq reads it (pgserver's ``postgresql://postgres:@/db?host=/socket``)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    fields = {
        "user": parts.username or "",
        "password": parts.password or "",
        "host": query.get("host") or parts.hostname or "",
        "port": str(parts.port or query.get("port") or ""),
        "dbname": parts.path.lstrip("/"),
    }
    return " ".join(f"{k}='{v}'" for k, v in fields.items() if v)


def _write_config(pgdata: Path, port: int, folder: Path, facts: dict[str, str]) -> None:
    """The replica's own postgresql.conf and pg_hba.conf (a packaged server keeps its files
    outside the data folder, so the backup may have none): local and 127.0.0.1, trusted."""
    at_least = "".join(f"{name} = {facts[name]}\n" for name in _AT_LEAST_PRIMARY)
    (pgdata / "postgresql.conf").write_text(
        f"listen_addresses = '127.0.0.1'\nport = {port}\n"
        f"unix_socket_directories = '{folder}'\n"
        "hot_standby = on\nshared_buffers = 16MB\nfsync = off\n"
        f"cluster_name = 'amu-test-replica-{port}'\n{at_least}"
    )
    (pgdata / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    # pg_basebackup -R's primary_conninfo is in postgresql.auto.conf; the primary's own
    # ALTER SYSTEM settings there stay as they are.


async def _wait_streaming(replica: Replica, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if replica.process.poll() is not None:
            raise RuntimeError(f"the replica exited with {replica.process.returncode}")
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            query = "SELECT status FROM pg_stat_wal_receiver"
            if await _fetch(replica.url, query) == "streaming":
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the replica was not streaming within {seconds} s")
        await asyncio.sleep(0.1)


async def _admit_replication(primary_url: str, facts: dict[str, str]) -> str | None:
    """Add a trusted replication line for the superuser to the primary's pg_hba.conf when no
    line admits it yet; returns the line's marker token (None: nothing added)."""
    if int(facts["admits"]) > 0:
        return None
    marker = f"amu-bevis-test-replica-{secrets.token_hex(6)}"
    line = f"host replication {facts['user']} 127.0.0.1/32 trust # {marker}"
    await _edit_hba(primary_url, lambda lines: [line, *lines])
    return marker


async def _remove_hba_line(primary_url: str, marker: str) -> None:
    await _edit_hba(primary_url, lambda lines: [x for x in lines if marker not in x])


async def _edit_hba(primary_url: str, change: Callable[[list[str]], list[str]]) -> None:
    """Rewrite the primary's pg_hba.conf through ``change`` and reload, under an advisory lock
    (other runs on the same server edit it too). Python writes the file when this process may
    (the server is on this machine); otherwise the server does, with COPY as superuser."""
    conn = await asyncpg.connect(primary_url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _HBA_LOCK)
        try:
            path = str(await conn.fetchval("SHOW hba_file"))
            text = str(await conn.fetchval("SELECT pg_read_file($1)", path))
            lines = change(text.splitlines())
            if os.access(path, os.W_OK):
                text = "".join(x + "\n" for x in lines)
                await asyncio.to_thread(Path(path).write_text, text)
            else:
                await _copy_lines(conn, path, lines)
            if not await conn.fetchval("SELECT pg_reload_conf()"):
                raise RuntimeError("pg_reload_conf() failed")
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _HBA_LOCK)
    finally:
        await conn.close()


async def _copy_lines(conn: asyncpg.Connection, path: str, lines: list[str]) -> None:
    # COPY's text format escapes backslashes and tabs: tabs become spaces (the same to
    # pg_hba.conf), and a file with backslashes is left alone rather than changed.
    if any("\\" in x for x in lines):
        raise RuntimeError(f"{path} holds backslashes; add the replication line by hand")
    literal = await conn.fetchval("SELECT quote_literal($1::text)", path)
    await conn.execute("CREATE TEMP TABLE amu_hba (n int, line text)")
    await conn.copy_records_to_table(
        "amu_hba", records=[(i, x.replace("\t", " ")) for i, x in enumerate(lines)]
    )
    # The path is a literal the server quoted; COPY takes no parameter there.
    await conn.execute(f"COPY (SELECT line FROM amu_hba ORDER BY n) TO {literal}")  # noqa: S608
    await conn.execute("DROP TABLE amu_hba")
