"""Pure formats: records to bytes and back. No database, no network, no clock.

Time and keys are always arguments. Every module here can be used on its own::

    from formats.record import CertificateRecord
    from formats.jws import sign_record, verify_record

    token = sign_record(record, private_key, kid="280727-2026-1")
    payload = verify_record(token, public_key)
"""
