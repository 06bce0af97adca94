"""The harness's default Pact provider-state handler: re-create recorded resources.

Pacts generated from traffic often reference something an earlier call created (A2A
``GetTask`` of a task made by ``SendMessage``; ``GET /orders/O-1`` after ``POST
/orders``). A fresh provider has none of it. For such interactions the generator stores
the creating call in the state's params (``setup``: method, path, headers, body and
``id_path``, where the id sat in its response). This handler, a small HTTP server the
verifier calls before each interaction, replays that call against the provider and
answers ``{"id": <new id>}``; the pact's ``ProviderState`` generator then puts the new id
into the request. States without ``setup`` are a no-op (``{}``).

A system can declare its own handler instead (``services[].provider_states_url``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.system.ports import free_port


def replay_setup(base_url: str, params: dict[str, Any], *, timeout: float = 15.0) -> dict[str, Any]:
    """Replay ``params["setup"]`` against the provider; return the injection values."""
    setup = params.get("setup")
    if not isinstance(setup, dict):
        return {}
    parts = urlsplit(base_url)
    url = f"{parts.scheme}://{parts.netloc}{setup.get('path', '/')}"
    body = setup.get("body")
    kwargs: dict[str, Any] = {"headers": dict(setup.get("headers") or {})}
    if isinstance(body, dict | list):
        body = _fresh_ids(body)
        kwargs["content"] = json.dumps(body)
        kwargs["headers"].setdefault("content-type", "application/json")
    elif isinstance(body, str):
        kwargs["content"] = body
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            resp = client.request(str(setup.get("method", "POST")), url, **kwargs)
        value: Any = resp.json()
        for key in setup.get("id_path") or []:
            value = value[key]
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
        return {"id": params.get("id")}  # best effort: the recorded id
    return {"id": value}


def _fresh_ids(body: Any) -> Any:
    """A2A refuses a reused ``messageId``; give replayed messages a new one."""
    from uuid import uuid4

    if isinstance(body, dict):
        return {k: (str(uuid4()) if k == "messageId" else _fresh_ids(v)) for k, v in body.items()}
    if isinstance(body, list):
        return [_fresh_ids(v) for v in body]
    return body


@contextmanager
def state_server(base_url: str) -> Iterator[str]:
    """Run the replaying state handler for the provider at ``base_url``; yield its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            try:
                req = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                req = {}
            params = req.get("params") if isinstance(req, dict) else None
            out: dict[str, Any] = {}
            if isinstance(params, dict) and req.get("action", "setup") == "setup":
                out = replay_setup(base_url, params)
            data = json.dumps(out).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: one line per interaction is noise in the CLI

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/_pact/state"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
