"""The JSON API: one router per audience, each carrying its path, guard and security once.

    routers(school_guard=SchoolGuard(pool_of), participant_guard=ParticipantGuard(identity),
            development_login=True)

- schools (``/api/schools/{school_id}``, a school's own credential): ``schools``, ``deliveries``;
- participants (``/api/me``, a participant's login token): ``participants``;
- public verification (``/api/verify``, ``/api/keys``, ``/api/status``, the published context,
  issuer documents and document authorities): ``verification``;
- the transparency log (``/api/log``): ``log``;
- the AMU goal catalogue (``/api/goals``), public: ``goals``;
- development login (``/api/dev/login``), with the development identity provider only;
- health (``/health/live``, ``/health/ready``), public, for orchestrators: ``health``.

Handlers receive their collaborators by dependency injection; the app factory provides them
(``pool``, ``clock``, ``identity``, ``keys``, ``issuer``, ``corrections``,
``composite_courses``, ``documents``, ``verifier``, ``delivery_desk``,
``public_base_url``, ``readiness``).
"""

from __future__ import annotations

from litestar import Router
from litestar.types import Guard

from service.api import development, goals, health, log, participants, schools, verification
from service.api.openapi import document_problems


def routers(
    *, school_guard: Guard, participant_guard: Guard, development_login: bool
) -> list[Router]:
    """The API's routers; ``development_login`` mounts the development login."""
    out = [
        document_problems(schools.router(school_guard), [401, 403]),
        document_problems(participants.router(participant_guard), [401]),
        document_problems(verification.router(), []),
        document_problems(log.router(), []),
        document_problems(goals.router(), []),
        document_problems(health.router(), []),
    ]
    if development_login:
        # Nothing stored can clash with a login.
        out.append(document_problems(development.router(), [], writes=[413]))
    return out
