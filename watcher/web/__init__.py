"""The operator's view on the daemon's HTTP port: a read-only dashboard at ``/`` and a JSON
read API under ``/api`` (its OpenAPI document at ``/api/openapi.json``).

``reads`` gathers what a page shows in a few Redis round trips (on the daemon's event loop),
``access`` decides who may look, ``api`` and ``pages`` answer, ``routes`` dispatches. Nothing
here writes to Redis but the index's scratch key of one query.
"""
