"""Delivery: every issued certificate reaches the participant once, on the right channel.

The issuing transaction creates a delivery job through ``PostgresOutbox`` (a transactional
outbox); workers (``amu-bevis worker``) take jobs with ``FOR UPDATE SKIP LOCKED`` under a lease
and deliver through the channel ports of ``ports.py``. See docs/delivery.md.
"""
