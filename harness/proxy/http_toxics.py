"""HTTP/agent-level toxics for the embedded proxy: the interface the proxy core imports.

- :data:`HTTP_TOXIC_TYPES`: the toxic ``type`` names handled here rather than as TCP toxics.
- :func:`validate_http_toxic`: normalizes attributes (defaults filled in) or raises ValueError
  naming the attribute; the API maps that to a 400.
- :func:`relay_http`: relays a client connection request by request, applying the toxics.

The pieces live in ``http_parse`` (framing), ``http_rules`` (validation, matching, probability,
canned answers), ``http_json`` (body rewrites), ``http_cut`` (where a body is cut),
``http_exchange`` (what gets recorded) and ``http_relay`` (the data path). Attributes: docs/http-toxics.md.
"""

from __future__ import annotations

from harness.proxy.http_relay import relay_http
from harness.proxy.http_rules import HTTP_TOXIC_TYPES, validate_http_toxic

__all__ = ["HTTP_TOXIC_TYPES", "relay_http", "validate_http_toxic"]
