"""``LoadGenerator``: Locust traffic against the workflow API, in separate processes.

Locust monkey-patches the interpreter with gevent on import, which would break the
harness's threads, asyncio and subprocess handling, so Locust always runs as a child
process (``python -m locust -f harness/load/locustfile.py --headless``) and the harness
only ever talks to it through a loopback socket (see ``samples.py``).

Modes:

- local (default): one headless Locust process;
- ``profile.distributed = N``: one headless master bound to a free loopback port plus N
  workers on this machine (``--expect-workers N --expect-workers-max-wait``);
- ``profile.master = "host:port"``: N workers (at least 1) attach to a master someone
  else runs. That master owns users, spawn rate and run time; it must have been started
  with this package's locustfile (``harness.load.LOCUSTFILE``) so the user class exists.

Every run is bounded: ``max_runtime_s`` goes to Locust as ``--run-time`` (a safety net
in addition to ``stop()``), and the locustfile stops Locust when the harness's socket
closes, so a killed harness does not leave load running.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from harness.errors import ConfigError, HarnessError
from harness.load.protocol import ENV_CONFIG, ENV_SINK, ENV_TOKEN, ENV_WORKER
from harness.load.samples import Sample, SampleSink
from harness.model.scenario import LoadProfile
from harness.model.system import WorkflowApi
from harness.redact import redact

__all__ = ["LOCUSTFILE", "LoadError", "LoadGenerator"]

LOCUSTFILE = str(Path(__file__).with_name("locustfile.py"))
_PKG_PARENT = str(Path(__file__).resolve().parents[2])
_LOG_TAIL_LINES = 15

#: ``{n}`` of load lives in its own block per load generator, far above the in-process
#: counter of probes and accounting (harness.engine.workflow), so no two renders in one
#: harness process produce the same ``{n}``: not across producers, repeats or scenarios.
N_BLOCK = 1_000_000_000
_load_blocks = itertools.count(1)


class LoadError(HarnessError):
    """Locust could not start or run; the message carries the tail of its log."""


class LoadGenerator:
    """Runs Locust against a system's workflow API and streams every request back.

    ``on_sample`` is called from one background thread, in ``t_mono`` order, for every
    request Locust finishes; ``stop()`` returns after the last of them was delivered (bounded by its timeout).
    """

    def __init__(self, profile: LoadProfile, workflow: WorkflowApi, *, out_dir: Path,
                 seed: int | None = None, on_sample: Callable[[Sample], None],
                 health_url: str | None = None, max_runtime_s: float = 3600.0,
                 start_timeout_s: float = 60.0, request_timeout_s: float = 30.0,
                 reorder_window_s: float = 0.1, run_id: str = "") -> None:
        self.profile = profile
        self.run_id = run_id
        self.workflow = workflow
        self.n_base = next(_load_blocks) * N_BLOCK
        self.out_dir = Path(out_dir)
        self.seed = seed
        self.health_url = health_url
        self.max_runtime_s = max_runtime_s
        self.start_timeout_s = start_timeout_s
        self.request_timeout_s = request_timeout_s
        self._on_sample = on_sample
        self._reorder_window_s = reorder_window_s
        self._procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        self._logs: list[IO[bytes]] = []
        self._sink: SampleSink | None = None
        self._started = False
        self._stopped = False
        self._cleaned = False
        self._stop_lock = threading.Lock()
        self._validate()

    # -- public API ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while Locust is up (it also ends on its own at ``max_runtime_s``)."""
        if self._stopped or not self._procs:
            return False
        return self._procs[0][1].poll() is None

    @property
    def log_paths(self) -> list[Path]:
        return [path for _, _, path in self._procs]

    @property
    def samples_received(self) -> int:
        return self._sink.received if self._sink else 0

    @property
    def callback_errors(self) -> int:
        """How many ``on_sample`` calls raised (logged; the stream kept flowing)."""
        return self._sink.callback_errors if self._sink else 0

    @property
    def pids(self) -> list[int]:
        return [proc.pid for _, proc, _ in self._procs]

    def start(self) -> None:
        """Spawn Locust and return once every user-running process reported in.

        Raises ``LoadError`` (with the last lines of Locust's log) if a process exits or
        does not report within ``start_timeout_s``. With ``users == 0`` nothing starts.
        """
        if self._started:
            raise LoadError("LoadGenerator.start() called twice")
        self._started = True
        if self.profile.users == 0:
            self._stopped = True
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        producers = self._producer_count()
        try:
            self._sink = SampleSink(self._on_sample, token=token,
                                    reorder_window_s=self._reorder_window_s if producers > 1 else 0.0)
            self._sink.start()
            config = self._locust_config(stride=producers)
            (self.out_dir / "load-config.json").write_text(json.dumps(redact(config), indent=2))
            self._spawn_all(self._env(config, token))
            self._wait_ready(producers)
        except BaseException:
            self.stop(timeout=5)  # also on Ctrl-C during start-up: leave nothing running
            raise

    def stop(self, timeout: float = 10.0) -> None:
        """Stop Locust (SIGTERM, then SIGKILL at ``timeout``) and deliver remaining samples.

        Idempotent and thread-safe; safe before ``start()`` and after Locust ended on its own.
        """
        self._stopped = True
        with self._stop_lock:
            if self._cleaned:
                return
            self._cleaned = True
            self._stop(timeout)

    def _stop(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        # The master (or local runner) first: it tells its workers to quit, so they send
        # their last samples and leave the master cleanly. Attached workers get it directly.
        first = self._procs if self.profile.master else self._procs[:1]
        for _, proc, _ in first:
            _signal(proc, signal.SIGTERM)
        for _, proc, _ in first:
            _wait(proc, (deadline - time.monotonic()) * 0.6)
        for _, proc, _ in self._procs:
            _signal(proc, signal.SIGTERM)
        for _, proc, _ in self._procs:
            if not _wait(proc, deadline - time.monotonic()):
                _signal(proc, signal.SIGKILL, group=True)
                _wait(proc, 5.0)
        if self._sink is not None:
            self._sink.close(drain_timeout=max(1.0, deadline - time.monotonic()))
        for fh in self._logs:
            with contextlib.suppress(OSError):
                fh.close()
        self._logs.clear()

    @property
    def exit_codes(self) -> list[int | None]:
        """Exit code per Locust process, ``None`` while running (1 = some requests failed)."""
        return [proc.returncode for _, proc, _ in self._procs]

    def __enter__(self) -> LoadGenerator:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- configuration ---------------------------------------------------------------------

    def _validate(self) -> None:
        p, wf = self.profile, self.workflow
        for field, url in (("workflow.submit_url", wf.submit_url), ("workflow.status_url", wf.status_url),
                           ("health_url", self.health_url)):
            if url is None:
                continue
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(f"not an http(s) URL with a host: {url!r}", field=field)
        if "{id}" not in wf.status_url:
            raise ConfigError("status_url needs an '{id}' placeholder", field="workflow.status_url")
        if sum(p.tasks.values()) <= 0:
            raise ConfigError("at least one task needs a weight above 0", field="load.tasks")
        if any(w < 0 for w in p.tasks.values()):
            raise ConfigError("task weights must not be negative", field="load.tasks")
        if p.tasks.get("health", 0) > 0 and not self.health_url:
            raise ConfigError("the 'health' task needs a health URL (the orchestrator's health_url)",
                              field="load.tasks.health")
        lo, hi = p.think_time_s
        if lo < 0 or hi < lo:
            raise ConfigError(f"think_time_s must be [lo, hi] with 0 <= lo <= hi, got {[lo, hi]}",
                              field="load.think_time_s")
        if p.master is not None:
            host, _, port = p.master.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ConfigError(f"expected host:port, got {p.master!r}", field="load.master")
        if self.max_runtime_s <= 0:
            raise ConfigError("max_runtime_s must be positive", field="max_runtime_s")
        host = urlsplit(wf.submit_url).hostname or ""
        try:
            socket.getaddrinfo(host, None)
        except OSError as exc:
            raise ConfigError(f"cannot resolve host {host!r}: {exc}", field="workflow.submit_url") from exc

    def _producer_count(self) -> int:
        if self.profile.master:
            return max(1, self.profile.distributed)
        return self.profile.distributed or 1

    def _locust_config(self, *, stride: int) -> dict[str, Any]:
        wf, p = self.workflow, self.profile
        parts = urlsplit(wf.submit_url)
        return {
            "host": f"{parts.scheme}://{parts.netloc}",
            "submit_url": wf.submit_url,
            "submit_method": wf.submit_method,
            "body": p.body if p.body is not None else wf.body,
            "idempotency_header": wf.idempotency_header,
            "id_pointer": wf.id_pointer,
            "status_url": wf.status_url,
            "health_url": self.health_url,
            "tasks": {k: v for k, v in p.tasks.items() if v > 0},
            "think_time_s": list(p.think_time_s),
            "seed": self.seed,
            "stride": stride,
            "n_base": self.n_base,
            "run_id": self.run_id,
            "request_timeout_s": self.request_timeout_s,
        }

    def _env(self, config: dict[str, Any], token: str) -> dict[str, str]:
        assert self._sink is not None
        # Drop LOCUST_* so a user's shell settings cannot change what we run.
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PKG_PARENT, env.get("PYTHONPATH")]))
        env[ENV_CONFIG] = json.dumps(config)
        env[ENV_SINK] = "{}:{}".format(*self._sink.address)
        env[ENV_TOKEN] = token
        env["PYTHONUNBUFFERED"] = "1"
        return env

    # -- processes -------------------------------------------------------------------------

    def _base_cmd(self) -> list[str]:
        return [sys.executable, "-m", "locust", "-f", LOCUSTFILE]

    def _headless_cmd(self) -> list[str]:
        p = self.profile
        return [
            "--headless", "-u", str(p.users), "-r", str(p.spawn_rate),
            "-t", f"{max(1, int(self.max_runtime_s))}s",
            "--host", self._locust_config(stride=1)["host"],
            "--only-summary", "--stop-timeout", "0", "--exit-code-on-error", "1",
            "--csv", str(self.out_dir / "locust"),
            "--json-file", str(self.out_dir / "locust-stats"),
        ]

    def _spawn_all(self, env: dict[str, str]) -> None:
        p = self.profile
        if p.master:
            host, _, port = p.master.rpartition(":")
            for i in range(1, self._producer_count() + 1):
                self._spawn(f"worker-{i}", [*self._base_cmd(), "--worker", "--master-host", host,
                                            "--master-port", port], env, worker=i)
            return
        if not p.distributed:
            self._spawn("locust", [*self._base_cmd(), *self._headless_cmd()], env, worker=0)
            return
        from harness.system.ports import free_port

        mport = free_port()
        wait = max(5, int(self.start_timeout_s))
        self._spawn("master", [*self._base_cmd(), *self._headless_cmd(), "--master",
                               "--master-bind-host", "127.0.0.1", "--master-bind-port", str(mport),
                               "--expect-workers", str(p.distributed),
                               "--expect-workers-max-wait", str(wait)], env, worker=0)
        for i in range(1, p.distributed + 1):
            self._spawn(f"worker-{i}", [*self._base_cmd(), "--worker", "--master-host", "127.0.0.1",
                                        "--master-port", str(mport)], env, worker=i)

    def _spawn(self, role: str, cmd: list[str], env: dict[str, str], *, worker: int) -> None:
        log_path = self.out_dir / f"{role}.log"
        fh = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._logs.append(fh)
        proc = subprocess.Popen(
            cmd, env={**env, ENV_WORKER: str(worker)}, stdout=fh, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.out_dir,  # so no locust.conf / pyproject [tool.locust] of the caller applies
            start_new_session=True,  # Ctrl-C reaches the harness only; it stops Locust itself
        )
        self._procs.append((role, proc, log_path))

    def _wait_ready(self, producers: int) -> None:
        assert self._sink is not None
        deadline = time.monotonic() + self.start_timeout_s
        while not self._sink.wait_for_producers(producers, 0.05):
            for role, proc, path in self._procs:
                if proc.poll() is not None:
                    raise LoadError(f"Locust {role} exited with code {proc.returncode} during start-up "
                                    f"(log {path}):\n{_tail(path)}")
            if time.monotonic() > deadline:
                role, _, path = self._procs[0]
                raise LoadError(f"Locust did not report in within {self.start_timeout_s:.0f} s "
                                f"({self._sink.producers}/{producers} processes; log {path}):\n{_tail(path)}")
        # A master that cannot bind its port dies right after its workers said hello.
        if self.profile.distributed and not self.profile.master:
            role, proc, path = self._procs[0]
            if _wait(proc, 0.3):
                raise LoadError(f"Locust {role} exited with code {proc.returncode} during start-up "
                                f"(log {path}):\n{_tail(path)}")


def _signal(proc: subprocess.Popen[bytes], sig: int, *, group: bool = False) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(proc.pid, sig)  # its own session: catches any helper it forked
        else:
            proc.send_signal(sig)


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    try:
        proc.wait(max(0.0, timeout))
        return True
    except subprocess.TimeoutExpired:
        return False


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(log is empty)"
