"""How the orchestrator calls an agent: timeout, retries with backoff + jitter honouring
``Retry-After``, and a circuit breaker per agent. Seeded defects switch parts of it off.

Error classes decide what is retried: transport errors, timeouts, 5xx and 429 are
transient (:class:`AgentUnavailable`); any other 4xx is the caller's fault
(:class:`AgentRejected`) and retrying it would only repeat the mistake.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from harness.sandbox.config import OrchestratorConfig


class AgentError(Exception):
    """An agent call failed. ``status`` is what the orchestrator surfaces (HTTP-like)."""

    retryable = False

    def __init__(self, agent: str, message: str, status: int = 502) -> None:
        super().__init__(f"{agent}: {message}")
        self.agent, self.message, self.status = agent, message, status

    def __reduce__(self) -> tuple[Any, ...]:
        # DBOS pickles step errors; keep the constructor's arguments so they unpickle.
        return (_rebuild, (type(self), self.agent, self.message, self.status))


def _rebuild(cls: type[AgentError], agent: str, message: str, status: int) -> AgentError:
    err = AgentError.__new__(cls)
    AgentError.__init__(err, agent, message, status)
    return err


class AgentUnavailable(AgentError):
    retryable = True


class BreakerOpen(AgentUnavailable):
    def __init__(self, agent: str) -> None:
        super().__init__(agent, "circuit breaker open", status=503)


class AgentRejected(AgentError):
    """The agent refused the request (4xx); not retried."""


class ContractError(AgentError):
    """The agent answered, but not in the agreed shape (e.g. a renamed field)."""


class Breaker:
    """Consecutive-failure circuit breaker: closed -> open -> half-open (one probe) -> closed."""

    def __init__(self, threshold: int, cooldown_s: float, never_closes: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold, self.cooldown_s, self.never_closes = threshold, cooldown_s, never_closes
        self._clock = clock
        self._lock = threading.Lock()
        self.state = "closed"
        self.failures = 0
        self._opened_at = 0.0
        self._probing = False

    def allow(self) -> bool:
        with self._lock:
            if self.state == "closed":
                return True
            if self.state == "open":
                if self.never_closes or self._clock() - self._opened_at < self.cooldown_s:
                    return False
                self.state, self._probing = "half_open", False
            if self._probing:  # half-open: exactly one probe at a time
                return False
            self._probing = True
            return True

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when it would now).

        Callers wait this long instead of burning their attempts against an open breaker:
        a durable workflow can afford to wait for the agent, and failing the claim while
        the breaker cools down would turn a short outage into lost business.
        """
        with self._lock:
            if self.state != "open":
                return 0.0
            return max(0.0, self.cooldown_s - (self._clock() - self._opened_at))

    def success(self) -> None:
        with self._lock:
            if self.state == "open" and self.never_closes:
                return
            self.state, self.failures, self._probing = "closed", 0, False

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            self._probing = False
            if self.state == "half_open" or self.failures >= self.threshold:
                self.state, self._opened_at = "open", self._clock()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"state": self.state, "failures": self.failures}


def retry_after_s(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _is_json(resp: httpx.Response) -> bool:
    try:
        json.loads(resp.content)
    except ValueError:
        return False
    return True


def backoff_s(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, so it never collapses to 0."""
    exp = min(cap, base * (2 ** attempt))
    return exp / 2 + random.uniform(0, exp / 2)


class Caller:
    """Calls one agent with the configured resilience; records every attempt."""

    def __init__(self, name: str, base_url: str, cfg: OrchestratorConfig, breaker: Breaker) -> None:
        self.name, self.base_url, self.cfg, self.breaker = name, base_url.rstrip("/"), cfg, breaker
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._client = httpx.Client(base_url=self.base_url, limits=limits, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None,
                attempts_log: list[dict[str, Any]] | None = None,
                before_attempt: Callable[[int], dict[str, str]] | None = None,
                max_attempts: int | None = None) -> httpx.Response:
        """Send with retries; return the 2xx response or raise an :class:`AgentError`.

        ``before_attempt(i)`` may return extra headers per attempt (the duplicate_payout
        defect uses it to mint a fresh idempotency key on every retry).
        """
        r = self.cfg.resilience
        storm = self.cfg.has("retry_storm")
        attempts = 1 if self.cfg.has("no_retry") else r.storm_attempts if storm else r.max_attempts
        if max_attempts is not None:
            attempts = min(attempts, max_attempts)
        # Waiting for a free pooled connection is our own congestion, not the agent's fault,
        # so it is not bounded by (nor counted against) the agent's timeout.
        timeout = None if self.cfg.has("no_timeout") else httpx.Timeout(r.timeout_s, pool=None)
        log = attempts_log if attempts_log is not None else []
        last: AgentError = AgentUnavailable(self.name, "not attempted")
        for i in range(attempts):
            hint: float | None = None
            entry: dict[str, Any] = {"attempt": i + 1, "ts": time.time()}
            log.append(entry)
            if not self.breaker.allow():
                last = BreakerOpen(self.name)
                hint = self.breaker.retry_in()
            else:
                extra = before_attempt(i) if before_attempt else {}
                try:
                    resp = self._client.request(method, path, json=json, headers={**(headers or {}), **extra},
                                                timeout=timeout)
                except httpx.TimeoutException as exc:
                    last = AgentUnavailable(self.name, f"timeout after {r.timeout_s}s ({type(exc).__name__})", 504)
                    self.breaker.failure()
                except httpx.TransportError as exc:
                    last = AgentUnavailable(self.name, f"unreachable ({type(exc).__name__}: {exc})", 503)
                    self.breaker.failure()
                else:
                    entry["status"] = resp.status_code
                    if resp.is_success and _is_json(resp):
                        self.breaker.success()
                        entry["outcome"] = "ok"
                        return resp
                    if resp.is_success:  # 2xx with a truncated/garbled body: a broken answer, try again
                        self.breaker.failure()
                        last = AgentUnavailable(self.name, f"malformed JSON in HTTP {resp.status_code} response")
                    else:
                        transient = resp.status_code >= 500 or resp.status_code == 429
                        if not transient and not self.cfg.has("wrong_error_mapping"):
                            self.breaker.success()  # the agent is healthy; the request was wrong
                            entry["outcome"] = "rejected"
                            raise AgentRejected(self.name, f"HTTP {resp.status_code}: {resp.text[:200]}",
                                                status=resp.status_code)
                        self.breaker.failure()
                        status = resp.status_code if transient else 502  # defect: 4xx surfaced as 5xx
                        last = AgentUnavailable(self.name, f"HTTP {resp.status_code}: {resp.text[:200]}", status)
                    hint = retry_after_s(resp.headers.get("retry-after"))
            entry["outcome"] = str(last)
            if i == attempts - 1:
                break
            delay = 0.0 if storm else max(backoff_s(i, r.backoff_base_s, r.backoff_max_s),
                                             min(hint or 0.0, r.retry_after_cap_s))
            entry["sleep_s"] = round(delay, 4)
            if delay:
                time.sleep(delay)
        raise last
