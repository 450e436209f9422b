"""Fixtures shared by the service's tests: the node OpenID Connect provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.oidc_provider import NodeOpenIDProvider


@pytest.fixture(scope="session")
def node_oidc() -> Iterator[NodeOpenIDProvider]:
    """panva's oidc-provider on 127.0.0.1 (tests/js/oidc-provider.mjs), one per test run;
    each test registers the client it needs."""
    with NodeOpenIDProvider.start() as provider:
        yield provider
