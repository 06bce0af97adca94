"""A small trip-booking orchestration used as an external system under test.

``trips`` (orchestrator) books a flight and a hotel per trip by calling the ``flights`` and
``hotels`` agents over REST, with retries. It is not the harness's sandbox: the tests in
``tests/external`` describe it in a system.yaml and attach it like any user's system.
"""
