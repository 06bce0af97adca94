"""Pure parts of the sandbox, property-tested: Cedar policies, PII redaction, Retry-After
parsing, backoff bounds and the circuit breaker's state machine (driven by a clock value
we advance by hand, which is the breaker's real clock interface, not a mock)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from harness.sandbox.config import Resilience
from harness.sandbox.flow import contains_pii, redact_customer
from harness.sandbox.policy import PolicyEngine
from harness.sandbox.resilience import Breaker, backoff_s, retry_after_s
from harness.sandbox.risk import score_claim

ENGINE = PolicyEngine()
AGENTS = ["intake", "risk", "approval", "payout", "notify"]


def ctx(amount: int, approved: bool = False, pii: bool = False, money: bool = False) -> dict[str, object]:
    return {"amount": amount, "approved": approved, "contains_pii": pii, "moves_money": money}


@settings(max_examples=200, deadline=None)
@given(amount=st.integers(0, 10**9), approved=st.booleans())
def test_payout_needs_approval_exactly_above_the_threshold(amount: int, approved: bool) -> None:
    d = ENGINE.check("payout", "issue_payout", ctx(amount, approved, money=True))
    assert d.allowed == (amount <= 100_000 or approved)
    if not d.allowed:
        assert d.reasons == ["approval-required-above-threshold"]


@settings(max_examples=100, deadline=None)
@given(agent=st.sampled_from(AGENTS), amount=st.integers(0, 10**7), pii=st.booleans(), money=st.booleans())
def test_invoke_agent_rules(agent: str, amount: int, pii: bool, money: bool) -> None:
    d = ENGINE.check(agent, "invoke_agent", ctx(amount, pii=pii, money=money))
    forbidden = (agent == "notify" and pii) or (money and agent != "payout")
    assert d.allowed is (not forbidden)
    assert d.errors == []


def test_only_payout_may_issue_payouts_and_other_principals_are_denied() -> None:
    assert not ENGINE.check("notify", "issue_payout", ctx(100, money=True)).allowed
    assert not ENGINE.check("risk", "invoke_agent", ctx(100), principal="intake").allowed
    assert ENGINE.check("payout", "issue_payout", ctx(100, money=True)).reasons == ["orchestrator-issues-payouts"]


names = st.text(st.characters(whitelist_categories=("L",)), min_size=3, max_size=20)
emails = st.from_regex(r"[a-z]{3,8}@[a-z]{3,8}\.(com|org|de)", fullmatch=True)
ibans = st.from_regex(r"[A-Z]{2}[0-9]{2}[0-9]{12,20}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(name=names, email=emails, iban=ibans)
def test_redacted_customer_never_contains_pii(name: str, email: str, iban: str) -> None:
    # A customer literally named like a key of the message ("name", "status") is out of scope.
    assume(name not in {"name", "email", "iban", "status", "paid", "customer", "claim_id"})
    customer = {"name": name, "email": email, "iban": iban}
    redacted = {"claim_id": "C-1", "status": "paid", "customer": redact_customer(customer)}
    assert not contains_pii(redacted, customer)
    assert contains_pii({"text": f"hello {name}"}, customer)
    assert contains_pii({"customer": customer}, customer)
    assert iban[-4:] in json.dumps(redacted)


@given(st.floats(0, 10**6, allow_nan=False))
def test_retry_after_seconds(value: float) -> None:
    assert retry_after_s(str(value)) == value


def test_retry_after_http_date_and_garbage() -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= (retry_after_s(format_datetime(when, usegmt=True)) or 0) <= 30
    assert retry_after_s(None) is None and retry_after_s("soon") is None and retry_after_s("-3") == 0.0


@given(attempt=st.integers(0, 30), base=st.floats(0, 5), cap=st.floats(0, 60))
def test_backoff_has_equal_jitter_bounds(attempt: int, base: float, cap: float) -> None:
    exp = min(cap, base * 2 ** attempt)
    assert exp / 2 <= backoff_s(attempt, base, cap) <= exp + 1e-9


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@given(st.lists(st.sampled_from(["ok", "fail", "tick"]), max_size=60))
def test_breaker_state_machine(events: list[str]) -> None:
    clock = Clock()
    b = Breaker(threshold=3, cooldown_s=1.0, clock=clock)
    for ev in events:
        if ev == "tick":
            clock.now += 0.6
            continue
        allowed = b.allow()
        if b.state == "open":
            assert not allowed  # open rejects until the cooldown has passed
            continue
        if not allowed:
            assert b.state == "half_open"
            continue
        before = b.state
        b.success() if ev == "ok" else b.failure()
        if ev == "ok":
            assert b.state == "closed" and b.failures == 0
        elif before == "half_open" or b.failures >= 3:
            assert b.state == "open"


def test_breaker_never_closes_variant_stays_open() -> None:
    clock = Clock()
    b = Breaker(threshold=1, cooldown_s=1.0, never_closes=True, clock=clock)
    assert b.allow()
    b.failure()
    clock.now += 100
    assert not b.allow() and b.state == "open"
    healthy = Breaker(threshold=1, cooldown_s=1.0, clock=clock)
    healthy.allow()
    healthy.failure()
    clock.now += 100
    assert healthy.allow() and healthy.state == "half_open"
    assert not healthy.allow()  # one probe at a time
    healthy.success()
    assert healthy.state == "closed"


@given(amount=st.floats(0.01, 10**7), text=st.text(max_size=50))
def test_risk_score_range_and_decision(amount: float, text: str) -> None:
    score, decision = score_claim(amount, text)
    assert 0 <= score <= 1
    assert decision == ("approve" if score < 0.5 else "review" if score < 0.8 else "reject")
    if "fraud" in text.lower():
        assert decision == "reject"


def test_resilience_rejects_nonsense() -> None:
    import pydantic
    import pytest

    with pytest.raises(pydantic.ValidationError):
        Resilience(max_attempts=0)


def test_open_breaker_says_how_long_to_wait() -> None:
    clock = Clock()
    b = Breaker(threshold=1, cooldown_s=5.0, clock=clock)
    assert b.retry_in() == 0.0
    b.allow()
    b.failure()
    assert b.retry_in() == 5.0
    clock.now += 3.5
    assert b.retry_in() == pytest.approx(1.5)
    clock.now += 2
    assert b.retry_in() == 0.0 and b.allow()  # the waiting caller gets the half-open probe
