"""Stand-ins for the vendors' APIs, served over real HTTP on loopback.

No vendor API can be reached from a test machine (or from a demo on a laptop), so each
vendor the Assemble shop uses has a sandbox here, written from the vendor's published API
reference (cited at the top of each module): the same paths, auth scheme, pagination, error
bodies and 401/404/429/5xx behaviour, with state that persists while it runs.

- :mod:`personvern.sandbox.server` composes the vendors into one app (each under its own
  prefix, e.g. ``/mailchimp``), runs it (``personvern sandbox --port N``, and inside
  ``personvern demo``) and adds the ``/_sandbox`` control endpoints;
- :mod:`personvern.sandbox.faults` injects latency and failures (429 with ``Retry-After``,
  5xx, hangs) per vendor, for the conformance kit and the fan-out benchmark;
- :mod:`personvern.sandbox.people` reads the people a sandbox holds from the demo shop's
  database, so that one request finds the same person everywhere.
"""
