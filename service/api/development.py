"""Development login: a token for any CPR number, standing in for MitID.

Mounted only with the development identity provider (demo and tests), never in production.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Router, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody

from issuers.cpr import parse_cpr
from service.api.openapi import NO_DATABASE
from service.identity import DevelopmentIdentityProvider, IdentityProvider


class DevLoginIn(msgspec.Struct, forbid_unknown_fields=True):
    cpr: Annotated[
        str,
        msgspec.Meta(
            min_length=10,
            max_length=11,
            description="The CPR number to log in as, DDMMYY-SSSS (the hyphen may be left out)",
        ),
    ]


class DevLoginOut(msgspec.Struct):
    token: str


@post(
    "/",
    status_code=201,
    summary="DEVELOPMENT ONLY: log in as any person",
    opt=NO_DATABASE,  # the development identity provider signs tokens in memory
)
async def login(
    identity: NamedDependency[IdentityProvider], data: JSONBody[DevLoginIn]
) -> DevLoginOut:
    if not isinstance(identity, DevelopmentIdentityProvider):
        raise NotFoundException
    cpr = parse_cpr(data.cpr, field="cpr")
    return DevLoginOut(token=identity.issue(cpr))


def router() -> Router:
    """The development login, under ``/api/dev/login``."""
    return Router(path="/api/dev/login", tags=["Development"], route_handlers=[login])
