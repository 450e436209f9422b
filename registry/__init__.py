"""The central register, alone: the append-only certificates and their status events
(``certificate_store``, ``intake``), the transparency log (``transparency/``), key history,
status lists, verification for authorities, share links and the access log, the audit, and
retention of the register's own rows. It imports nothing of the schools' side (``issuers``),
nothing of HTTP and no settings: the composition root (``service``) hands it its collaborators.
"""
