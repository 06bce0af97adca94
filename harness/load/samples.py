"""Per-request samples and the harness-side sink that receives them from Locust.

How samples cross the process boundary: every Locust process that runs users (the
local runner, or each worker) opens one TCP connection to a listening socket on
127.0.0.1 that this module owns, and streams JSON lines (``protocol.py``). We chose
a loopback socket over a tailed file or a FIFO because:

- it has no polling delay: the reader thread wakes in ``select`` as bytes arrive, so a
  sample reaches ``on_sample`` within milliseconds of the request ending;
- it works unchanged for 1 local runner, N local workers, or workers attached to an
  external master, each with its own connection (a FIFO would interleave writers);
- end of stream is explicit: EOF means the producer exited and everything it sent is
  in, which makes ``stop()`` drain exactly; nothing grows on disk;
- it doubles as a dead-man switch: when the harness dies its socket closes, and the
  locustfile shuts Locust down instead of loading the system forever.

Samples are not written to disk here (the engine journals them), so nothing secret
can leak through this path; error texts are redacted on the Locust side anyway.

Ordering: one producer's samples arrive in the order its requests ended. With several
producers (distributed mode) a dispatcher holds samples for a short reorder window and
emits them sorted by ``t_mono``, so ``on_sample`` sees one time-ordered stream.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from harness.load.protocol import LineDecoder

__all__ = ["Sample", "SampleSink"]

log = logging.getLogger("harness.load")


@dataclass(frozen=True)  # no slots: callers may read ``sample.__dict__``
class Sample:
    """One finished request, as seen by Locust.

    ``t_mono`` is ``time.monotonic()`` in the Locust process when the request ended:
    the machine-wide monotonic clock, directly comparable with the harness's own.
    ``status`` is 0 when no HTTP response arrived (refused, reset, timeout).
    """

    t_mono: float
    t_wall: float
    name: str
    method: str
    status: int
    latency_ms: float
    ok: bool
    workflow_id: str | None = None
    error: str | None = None
    worker: int = 0

    @classmethod
    def from_message(cls, msg: dict[str, Any]) -> Sample:
        """Build from a wire message; raises ``KeyError``/``TypeError``/``ValueError`` if malformed."""
        wf = msg.get("workflow_id")
        err = msg.get("error")
        return cls(
            t_mono=float(msg["t_mono"]),
            t_wall=float(msg["t_wall"]),
            name=str(msg["name"]),
            method=str(msg["method"]),
            status=int(msg["status"]),
            latency_ms=float(msg["latency_ms"]),
            ok=bool(msg["ok"]),
            workflow_id=None if wf is None else str(wf),
            error=None if err is None else str(err),
            worker=int(msg.get("worker", 0)),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SampleSink:
    """Loopback listener + reader thread + dispatcher thread.

    The reader never runs user code, so a slow ``on_sample`` (e.g. an fsync'd journal)
    only delays delivery; it never stops the sink from accepting producers or seeing EOF.
    """

    def __init__(self, on_sample: Callable[[Sample], None], *, token: str,
                 reorder_window_s: float = 0.0) -> None:
        self._on_sample = on_sample
        self._token = token
        self._window = reorder_window_s
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._sel = selectors.DefaultSelector()
        self._queue: queue.SimpleQueue[Sample | None] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._hellos: list[dict[str, Any]] = []
        self._open = 0  # authenticated connections not yet at EOF
        self._closing = threading.Event()
        self._reader_done = threading.Event()
        self.received = 0
        self.delivered = 0
        self.callback_errors = 0
        self.bad_messages = 0
        self._reader = threading.Thread(target=self._read_loop, name="harness-load-reader", daemon=True)
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="harness-load-dispatch",
                                            daemon=True)

    def start(self) -> None:
        self._sel.register(self._listener, selectors.EVENT_READ, None)
        self._reader.start()
        self._dispatcher.start()

    # -- producers ---------------------------------------------------------------

    def wait_for_producers(self, count: int, timeout: float) -> bool:
        """Block until ``count`` producers said hello (or ``timeout``)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._hellos) >= count, timeout)

    @property
    def producers(self) -> int:
        with self._cond:
            return len(self._hellos)

    @property
    def connected(self) -> int:
        with self._cond:
            return self._open

    # -- shutdown ----------------------------------------------------------------

    def close(self, drain_timeout: float = 5.0) -> None:
        """Wait (bounded) for every producer's EOF, then deliver what is left. Idempotent."""
        if self._closing.is_set():
            self._dispatcher.join(drain_timeout)
            return
        deadline = time.monotonic() + drain_timeout
        with self._cond:
            self._cond.wait_for(lambda: self._open == 0, max(0.0, deadline - time.monotonic()))
        self._closing.set()
        self._reader_done.wait(max(0.5, deadline - time.monotonic()))
        self._queue.put(None)
        self._dispatcher.join(max(0.5, deadline - time.monotonic()))

    # -- reader thread -------------------------------------------------------------

    def _read_loop(self) -> None:
        try:
            while not self._closing.is_set():
                for key, _ in self._sel.select(timeout=0.05):
                    if key.data is None:
                        self._accept()
                    else:
                        self._read(key.fileobj, key.data)  # type: ignore[arg-type]
        except Exception:  # pragma: no cover - a bug here must not hang stop()
            log.exception("load sample reader crashed")
        finally:
            for key in list(self._sel.get_map().values()):
                self._sel.unregister(key.fileobj)
                key.fileobj.close()  # type: ignore[union-attr]
            self._sel.close()
            self._reader_done.set()

    def _accept(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except BlockingIOError:
            return
        conn.setblocking(False)
        self._sel.register(conn, selectors.EVENT_READ, _Conn())

    def _read(self, conn: socket.socket, state: _Conn) -> None:
        try:
            chunk = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(conn, state)
            return
        for msg in state.decoder.feed(chunk):
            if not state.authed:
                if msg.get("type") == "hello" and msg.get("token") == self._token:
                    state.authed = True
                    with self._cond:
                        self._hellos.append({k: v for k, v in msg.items() if k != "token"})
                        self._open += 1
                        self._cond.notify_all()
                    continue
                log.warning("load sink: dropped a connection without a valid hello")
                self._drop(conn, state)
                return
            if msg.get("type") != "sample":
                continue
            try:
                sample = Sample.from_message(msg)
            except (KeyError, TypeError, ValueError):
                self.bad_messages += 1
                continue
            self.received += 1
            self._queue.put(sample)

    def _drop(self, conn: socket.socket, state: _Conn) -> None:
        self._sel.unregister(conn)
        conn.close()
        self.bad_messages += state.decoder.bad_lines
        if state.authed:
            with self._cond:
                self._open -= 1
                self._cond.notify_all()

    # -- dispatcher thread -----------------------------------------------------------

    def _dispatch_loop(self) -> None:
        heap: list[tuple[float, int, Sample]] = []
        seq = itertools.count()
        finished = False
        while not finished:
            timeout = None
            if heap:
                timeout = max(0.0, heap[0][0] + self._window - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = _NOTHING
            if item is None:
                finished = True
            elif item is not _NOTHING:
                if self._window <= 0:
                    self._deliver(item)  # type: ignore[arg-type]
                else:
                    heapq.heappush(heap, (item.t_mono, next(seq), item))  # type: ignore[union-attr]
            now = time.monotonic()
            while heap and (finished or heap[0][0] + self._window <= now):
                self._deliver(heapq.heappop(heap)[2])

    def _deliver(self, sample: Sample) -> None:
        try:
            self._on_sample(sample)
        except Exception:
            self.callback_errors += 1
            if self.callback_errors <= 5:
                log.exception("on_sample callback failed (sample kept flowing)")
        self.delivered += 1


class _Conn:
    __slots__ = ("authed", "decoder")

    def __init__(self) -> None:
        self.decoder = LineDecoder()
        self.authed = False


_NOTHING: Any = object()
