"""The service: the HTTP edge (``api/``, ``pages/``) and the composition root around it.

The composition root is everything else here: the one settings object (``settings``), the one
app factory (``app.create_app``), the console script (``cli``, ``trust_cli``), the choice of
adapters (``adapters``), the delivery runtime (``delivery``), the database schema
(``migrations/``), the embedded PostgreSQL, logging and the demo. Only the root reads the
settings; the edge is handed collaborators by dependency injection (docs/architecture.md).
"""
