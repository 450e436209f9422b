"""The OpenAPI UI at ``/schema``: Redoc from the service's own static files.

Litestar's default UIs load their scripts, fonts and favicon from CDNs. Here Redoc's bundle is
vendored (``service/static/openapi/``, made by ``scripts/vendor-redoc``), Google Fonts are off
(Redoc falls back to the system's fonts) and there is no favicon link, so the page fetches
nothing from anywhere but the service::

    OpenAPIConfig(..., path="/schema", render_plugins=render_plugins())
"""

from __future__ import annotations

from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, RedocRenderPlugin

REDOC_JS = "/static/openapi/redoc.standalone.js"


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """Redoc at ``/schema`` and ``/schema/redoc``; the document at ``/schema/openapi.json``."""
    return [
        RedocRenderPlugin(js_url=REDOC_JS, google_fonts=False, path=["/", "/redoc"], favicon=""),
        JsonRenderPlugin(),
    ]
