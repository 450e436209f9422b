"""The transparency log over HTTP: checkpoints, leaves, inclusion and consistency proofs.

Everything here is public: log entries hold no personal data (see
``registry/transparency/log.py``).
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated

import asyncpg
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from litestar import Response, Router, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import PathParameter, QueryParameter

from registry.clock import Clock
from registry.db import Connection
from registry.keys import KeyStore, ed25519_key
from registry.reads import Reads
from registry.transparency import log, merkle
from registry.transparency.checkpoint import NoteVerifier
from registry.transparency.copies import CheckpointCopies
from registry.transparency.merkle import Hash
from service.api.openapi import problem_responses
from service.api.parameters import CertificateNumber

# Leaf indexes and tree sizes are PostgreSQL bigints: a larger number is a 400, not a 500.
BIGINT_MAX = 2**63 - 1
LEAF_INDEX = QueryParameter(ge=0, le=BIGINT_MAX, description="The leaf's index, from 0")
TREE_SIZE = QueryParameter(
    name="treeSize",
    ge=1,
    le=BIGINT_MAX,
    description="The size of the tree (number of leaves) the proof is for",
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class LogKeyOut(msgspec.Struct, rename="camel"):
    kid: str
    verifier_key: str  # C2SP note verifier key: <name>+<hex id>+<base64(0x01 || key)>
    valid_from: dt.datetime
    retired_at: dt.datetime | None
    revoked_from: dt.datetime | None = None  # compromised: checkpoints it signed since are void


class LeafOut(msgspec.Struct, rename="camel"):
    index: int
    entry: str  # the canonical JSON entry, as text
    leaf_hash: str  # base64


class InclusionOut(msgspec.Struct, rename="camel"):
    index: int
    tree_size: int
    leaf_hash: str
    entry: str
    hashes: list[str]  # base64, RFC 9162 order


class ConsistencyOut(msgspec.Struct, rename="camel"):
    first: int
    second: int
    hashes: list[str]


@get(
    "/checkpoint",
    media_type="text/plain",  # Litestar adds "; charset=utf-8" to text types
    summary="The latest signed checkpoint (C2SP signed note)",
    responses=problem_responses([404]),  # no log key yet
)
async def checkpoint(
    pool: NamedDependency[asyncpg.Pool],
    keys: NamedDependency[KeyStore],
    clock: NamedDependency[Clock],
    checkpoint_copies: NamedDependency[CheckpointCopies],
) -> Response[bytes]:
    async with pool.acquire() as conn:
        key = await log.active_log_key(conn)
        if key is None:
            raise NotFoundException("The register has no log key yet")
        note = await log.checkpoint(
            conn, ed25519_key(keys, key.kid), key, now=clock(), copies=checkpoint_copies
        )
    return Response(note, media_type="text/plain")


@get("/keys", summary="The register's checkpoint keys, retired ones included")
async def keys(pool: NamedDependency[asyncpg.Pool]) -> list[LogKeyOut]:
    async with pool.acquire() as conn:
        found = await log.log_keys(conn)
    return [
        LogKeyOut(
            kid=k.kid,
            verifier_key=NoteVerifier(
                k.name, Ed25519PublicKey.from_public_bytes(k.public_key)
            ).vkey(),
            valid_from=k.valid_from,
            retired_at=k.retired_at,
            revoked_from=k.revoked_from,
        )
        for k in found
    ]


@get("/leaves/{index:int}", summary="One leaf of the log")
async def leaf(
    reads: NamedDependency[Reads],
    index: Annotated[
        int, PathParameter(ge=0, le=BIGINT_MAX, description="The leaf's index, from 0")
    ],
) -> LeafOut:
    # A leaf the replica has not replayed yet: the primary may have it.
    found = await reads.read(lambda conn: log.leaf(conn, index), missing=lambda f: f is None)
    if found is None:
        raise NotFoundException("The log has no leaf with this index")
    return LeafOut(found.index, found.entry.decode(), _b64(found.leaf_hash))


@get(
    "/proof/inclusion",
    summary="Inclusion proof of a leaf in a tree of a given size",
    responses=problem_responses([404]),  # a tree larger than the log, or no such leaf in it
)
async def inclusion(
    reads: NamedDependency[Reads],
    index: Annotated[int, LEAF_INDEX],
    tree_size: Annotated[int, TREE_SIZE],
) -> InclusionOut:
    # A tree size or leaf the replica has not reached yet (a checkpoint signed a moment ago on
    # the primary): the primary answers.
    return await reads.read(
        lambda conn: _inclusion(conn, index, tree_size), missing_errors=(NotFoundException,)
    )


@get("/proof/certificate/{number:str}", summary="Inclusion proof of a certificate's issuing")
async def certificate_inclusion(
    reads: NamedDependency[Reads],
    number: CertificateNumber,
    tree_size: Annotated[int | None, TREE_SIZE] = None,
) -> InclusionOut:
    async def read(conn: Connection) -> InclusionOut:
        found = await log.issued_leaf(conn, number)
        if found is None:
            raise NotFoundException("No certificate with this number is in the log")
        return await _inclusion(conn, found.index, tree_size or await log.size(conn))

    # A certificate issued a moment ago, or a newer tree: the primary answers.
    return await reads.read(read, missing_errors=(NotFoundException,))


@get(
    "/proof/consistency",
    summary="Consistency proof between two tree sizes",
    responses=problem_responses([404]),  # a tree larger than the log
)
async def consistency(
    reads: NamedDependency[Reads],
    first: Annotated[
        int, QueryParameter(ge=1, le=BIGINT_MAX, description="The older tree size, from 1")
    ],
    second: Annotated[
        int,
        QueryParameter(ge=1, le=BIGINT_MAX, description="The newer tree size, at least first"),
    ],
) -> ConsistencyOut:
    async def read(conn: Connection) -> list[Hash]:
        await _require_size(conn, second)
        return await merkle.prove_consistency(log.PostgresNodeStore(conn), first, second)

    # A tree size the replica has not reached yet: the primary answers.
    hashes = await reads.read(read, missing_errors=(NotFoundException,))
    return ConsistencyOut(first, second, [_b64(h) for h in hashes])


async def _require_size(conn: Connection, tree_size: int) -> None:
    current = await log.size(conn)
    if tree_size > current:
        raise NotFoundException(f"The log has {current} leaves")


async def _inclusion(conn: Connection, index: int, tree_size: int) -> InclusionOut:
    await _require_size(conn, tree_size)
    found = await log.leaf(conn, index)
    if found is None or index >= tree_size:
        raise NotFoundException("The tree of this size has no leaf with this index")
    hashes = await merkle.prove_inclusion(log.PostgresNodeStore(conn), index, tree_size)
    return InclusionOut(
        index=index,
        tree_size=tree_size,
        leaf_hash=_b64(found.leaf_hash),
        entry=found.entry.decode(),
        hashes=[_b64(h) for h in hashes],
    )


def router() -> Router:
    """Every route of the log, under ``/api/log``."""
    return Router(
        path="/api/log",
        tags=["Transparency log"],
        route_handlers=[checkpoint, keys, leaf, inclusion, certificate_inclusion, consistency],
    )
