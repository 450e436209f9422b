"""The schools' side, on top of the register: the AMU rules engine (``rules/``, pure), issuing,
corrections and revocations, composite courses, the quarterly report, the certificates'
documents (PDF, MeMo, XML, credential), delivery (``delivery/``), and retention of the schools'
own personal data. No HTTP and no settings: the edge (``service.api``) calls it."""
