"""The locustfile the harness runs: work-item traffic against a ``WorkflowApi``.

This file runs ONLY inside Locust processes (``python -m locust -f <this file>``),
which gevent monkey-patches on ``import locust``. The harness process must never
import it; it only passes its path (``harness.load.LOCUSTFILE``) to Locust.

Configuration arrives in environment variables (``protocol.ENV_*``), never in a file,
so secrets in URLs or bodies stay off disk:

- ``HARNESS_LOAD_CONFIG``: JSON with ``submit_url``, ``submit_method``, ``body``,
  ``idempotency_header``, ``id_pointer``, ``status_url``, ``health_url``, ``tasks``
  (weights), ``think_time_s`` ``[lo, hi]``, ``seed``, ``stride``, ``request_timeout_s``;
- ``HARNESS_LOAD_SINK`` (``host:port``) and ``HARNESS_LOAD_TOKEN``: where to stream
  samples (one JSON line per request, see ``protocol.py``);
- ``HARNESS_LOAD_WORKER``: this process's index (0 local, 1..N workers), which keeps
  the ``{n}`` counter unique across workers and offsets the seed.

A Locust master needs this file only for the user class name; it runs no users and
opens no sink connection, so it may start without any of the variables.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import sys
import time
import uuid
from collections import deque
from typing import Any

import gevent
from gevent.lock import Semaphore
from gevent.queue import Queue
from locust import FastHttpUser, between, events
from locust.env import Environment
from locust.runners import MasterRunner

from harness.load.protocol import (
    ENV_CONFIG,
    ENV_SINK,
    ENV_TOKEN,
    ENV_WORKER,
    encode_message,
    render_template,
    resolve_pointer,
    status_url_for,
)
from harness.redact import redact_text

CONFIG: dict[str, Any] = json.loads(os.environ.get(ENV_CONFIG) or "{}")
WORKER = int(os.environ.get(ENV_WORKER) or 0)
_STRIDE = max(1, int(CONFIG.get("stride", 1)))
# n = base + k * stride + offset: distinct across workers without any coordination, and the
# engine gives every load generator its own base, above the counter probes use.
_counter = itertools.count(int(CONFIG.get("n_base", 0)) + _STRIDE + max(0, WORKER - 1), _STRIDE)
# Ids this process submitted successfully; the status task polls a random one of the recent ones.
SUBMITTED: deque[str] = deque(maxlen=1000)
_RUN_ID = str(CONFIG.get("run_id") or "")  # fills {run_id}: one value for the whole run
_SEED = None if CONFIG.get("seed") is None else int(CONFIG["seed"]) * 1009 + WORKER
_rng = random.Random(_SEED)
if _SEED is not None:
    random.seed(_SEED)  # Locust picks each next task with the module-level RNG


def submit(user: FastHttpUser) -> None:
    token = uuid.uuid4().hex  # not seeded: ids must stay unique across repeats of a seeded run
    body = render_template(CONFIG.get("body") or {}, next(_counter), token, _RUN_ID)
    headers = {}
    if CONFIG.get("idempotency_header"):
        headers[CONFIG["idempotency_header"]] = f"load-{token}"
    context: dict[str, Any] = {}  # fresh dict: FastHttpSession's default one is shared
    with user.client.request(CONFIG.get("submit_method", "POST"), CONFIG["submit_url"], name="submit",
                             json=body, headers=headers, context=context, catch_response=True) as resp:
        if not 200 <= (resp.status_code or 0) < 300:
            return  # Locust marks it failed with the HTTP error
        try:
            wf = resolve_pointer(resp.json(), CONFIG.get("id_pointer", "/workflow_id"))
        except (ValueError, TypeError):
            wf = None
        if wf is None or isinstance(wf, dict | list):
            resp.failure(f"no workflow id at {CONFIG.get('id_pointer')!r} in response")
            return
        resp.request_meta["context"]["workflow_id"] = str(wf)
        SUBMITTED.append(str(wf))
        resp.success()


def status(user: FastHttpUser) -> None:
    if not SUBMITTED:
        return  # nothing to poll yet; the next pick will usually be a submit
    wf = _rng.choice(SUBMITTED)
    user.client.request("GET", status_url_for(CONFIG["status_url"], wf), name="status",
                        context={"workflow_id": wf})


def health(user: FastHttpUser) -> None:
    user.client.request("GET", CONFIG["health_url"], name="health", context={})


_TASKS = {"submit": submit, "status": status, "health": health}


def _think_time() -> Any:
    lo, hi = CONFIG.get("think_time_s", [0.2, 0.5])
    if _SEED is None:
        return between(lo, hi)
    return lambda _user: _rng.uniform(lo, hi)


class WorkflowUser(FastHttpUser):
    """Submits work items, polls the ones it submitted, and checks health, by weight."""

    host = CONFIG.get("host", "http://127.0.0.1")
    wait_time = _think_time()
    tasks = {_TASKS[name]: w for name, w in (CONFIG.get("tasks") or {"health": 1}).items() if w > 0}
    network_timeout = float(CONFIG.get("request_timeout_s", 30.0))
    connection_timeout = min(10.0, network_timeout)


# -- streaming samples to the harness ---------------------------------------------------


class _SinkClient:
    """One loopback connection to the harness; requests never block on it."""

    def __init__(self, address: str, token: str) -> None:
        import socket  # patched by gevent by now: cooperative

        host, _, port = address.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.sock.settimeout(None)
        self.queue: Queue = Queue()
        self.lock = Semaphore()
        self.closed = False
        self._send([{"type": "hello", "token": token, "worker": WORKER, "pid": os.getpid()}])
        gevent.spawn(self._sender)
        gevent.spawn(self._watch)

    def put(self, msg: dict[str, Any]) -> None:
        if not self.closed:
            self.queue.put(msg)

    def _send(self, batch: list[dict[str, Any]]) -> None:
        with self.lock:
            self.sock.sendall(b"".join(encode_message(m) for m in batch))

    def _sender(self) -> None:
        while not self.closed:
            batch = [self.queue.get()]
            while not self.queue.empty() and len(batch) < 1000:
                batch.append(self.queue.get_nowait())
            try:
                self._send(batch)
            except OSError:
                _harness_gone("sending samples failed")
                return

    def _watch(self) -> None:
        # The harness never sends anything: recv returns b"" only when it closed or died.
        try:
            self.sock.recv(1)
        except OSError:
            pass
        if not self.closed:
            _harness_gone("the harness closed the sample stream")

    def flush_and_close(self) -> None:
        if self.closed:
            return
        batch = []
        while not self.queue.empty():
            batch.append(self.queue.get_nowait())
        self.closed = True
        try:
            if batch:
                self._send(batch)
            self.sock.close()
        except OSError:
            pass


_SINK: _SinkClient | None = None


def _harness_gone(why: str) -> None:
    """Dead-man switch: without a harness listening, stop loading the system."""
    global _SINK
    if _SINK is not None:
        _SINK.closed = True
    sys.stderr.write(f"harness.load: {why}; shutting Locust down\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGTERM)  # Locust's own handler quits runners cleanly


@events.init.add_listener
def _on_init(environment: Environment, **_kw: Any) -> None:
    global _SINK
    if isinstance(environment.runner, MasterRunner):
        return
    address, token = os.environ.get(ENV_SINK), os.environ.get(ENV_TOKEN)
    if not address or not token or not CONFIG:
        sys.stderr.write(f"harness.load: {ENV_SINK}/{ENV_TOKEN}/{ENV_CONFIG} not set; "
                         "this locustfile is started by harness.load.LoadGenerator\n")
        sys.exit(3)
    try:
        _SINK = _SinkClient(address, token)
    except OSError as exc:
        sys.stderr.write(f"harness.load: cannot reach the harness sample sink at {address}: {exc}\n")
        sys.exit(3)


@events.request.add_listener
def _on_request(request_type: str, name: str, response_time: float, response: Any = None,
                context: dict[str, Any] | None = None, exception: BaseException | None = None,
                **_kw: Any) -> None:
    if _SINK is None:
        return
    status = int(getattr(response, "status_code", 0) or 0)
    error = None
    if exception is not None:
        error = redact_text(f"{type(exception).__name__}: {exception}")[:300]
    _SINK.put({
        "type": "sample",
        "t_mono": time.monotonic(),
        "t_wall": time.time(),
        "name": name,
        "method": request_type,
        "status": status,
        "latency_ms": round(float(response_time or 0.0), 3),
        "ok": exception is None,
        "workflow_id": (context or {}).get("workflow_id"),
        "error": error,
        "worker": WORKER,
    })


@events.quit.add_listener
def _on_quit(**_kw: Any) -> None:
    if _SINK is not None:
        _SINK.flush_and_close()
