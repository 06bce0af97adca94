"""Journal -> timeline reduction: downsampling must not lose or invent requests or errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import ConfigError
from harness.model.journal import Event, FaultInjectedEvent, LoadSampleEvent, ScenarioStartEvent
from harness.report.data import journal_excerpt, load_scored_run, quantile, timelines

Sample = tuple[float, float | None, bool]


def _events(samples: list[Sample], scenario: str = "s") -> list[Event]:
    evs: list[Event] = [ScenarioStartEvent(seq=0, kind="scenario_start", t_mono=100.0, t_wall=1.0,
                                           scenario=scenario, repeat=1)]
    for i, (t, lat, ok) in enumerate(sorted(samples, key=lambda s: s[0]), start=1):
        evs.append(LoadSampleEvent(seq=i, kind="load_sample", t_mono=100.0 + t, t_wall=1.0 + t, scenario=scenario,
                                   repeat=1, name="submit", method="POST", status=202 if ok else 503,
                                   latency_ms=lat, ok=ok))
    return evs


samples_st = st.lists(
    st.tuples(st.floats(0, 600, allow_nan=False), st.one_of(st.none(), st.floats(0, 1e5, allow_nan=False)),
              st.booleans()),
    max_size=400,
)


@settings(max_examples=60, deadline=None)
@given(samples=samples_st, max_buckets=st.integers(1, 300))
def test_buckets_conserve_requests_and_errors(samples: list[Sample], max_buckets: int) -> None:
    tl = timelines(_events(samples), max_buckets=max_buckets)["s"]
    assert sum(b.requests for b in tl.buckets) == len(samples) == tl.samples
    assert sum(b.errors for b in tl.buckets) == sum(1 for s in samples if not s[2])
    # Bounded output is the point of downsampling (+1: the last sample may open one more slot).
    assert len(tl.buckets) <= max_buckets + 1
    lats = {s[1] for s in samples if s[1] is not None}
    for b in tl.buckets:
        assert b.t0 < b.t1
        if b.max_ms is not None:
            assert b.p50_ms is not None and b.p95_ms is not None
            assert b.p50_ms <= b.p95_ms <= b.max_ms
            assert {b.p50_ms, b.p95_ms, b.max_ms} <= lats  # quantiles are observed values
    peaks = [b.max_ms for b in tl.buckets if b.max_ms is not None]
    assert max(peaks, default=None) == max(lats, default=None)  # the worst request is never lost
    # buckets are ordered and do not overlap
    assert all(a.t1 <= b.t0 + 1e-9 for a, b in zip(tl.buckets, tl.buckets[1:], strict=False))


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200), st.floats(0.0, 1.0))
def test_quantile_is_a_member_and_monotonic(values: list[float], q: float) -> None:
    data = sorted(values)
    v = quantile(data, q)
    assert v in data
    assert quantile(data, 0.0) == data[0] and quantile(data, 1.0) == data[-1]
    assert quantile(data, min(q + 0.1, 1.0)) >= v  # type: ignore[operator]


def test_synthetic_run_timelines(run_dir: Path) -> None:
    run = load_scored_run(run_dir)
    tls = timelines(run.events)
    assert list(tls) == ["latency-payout", "kill-fraud", "http-503-approval"]
    kill = tls["kill-fraud"]
    # two repeats -> two fault windows, each closed by its fault_reverted, in time order
    assert [(w.fault_id, w.repeat, w.reverted) for w in kill.faults] == [("kill-1", 1, True), ("kill-1", 2, True)]
    assert all(0 < w.start < w.end <= kill.duration for w in kill.faults)
    # failed probes sit inside or right after a fault window (the system heals after revert)
    assert kill.probe_failures
    assert all(any(w.start <= m.t <= w.end + 2.0 for w in kill.faults) for m in kill.probe_failures)
    assert [m.label for m in kill.phases[:5]] == ["baseline", "inject", "observe", "revert", "recover"]
    assert len(kill.aborts) == 1


def test_unreverted_fault_is_shaded_to_the_end(tmp_path: Path) -> None:
    evs = _events([(1.0, 10.0, True), (9.0, 10.0, True)])
    evs.append(FaultInjectedEvent(seq=99, kind="fault_injected", t_mono=103.0, t_wall=4.0, scenario="s", repeat=1,
                                  fault_id="f", type="down", target="a->b"))
    tl = timelines(evs)["s"]
    assert [(w.start, w.end, w.reverted) for w in tl.faults] == [(3.0, 9.0, False)]


def test_torn_last_line_and_missing_journal(tmp_path: Path, run_dir: Path) -> None:
    journal = run_dir / "journal.jsonl"
    n = len(journal.read_text().splitlines())
    with journal.open("a") as fh:
        fh.write('{"seq": 999999, "kind": "probe", "t_mo')  # killed mid-write
    assert len(load_scored_run(run_dir).events) == n
    journal.unlink()
    assert load_scored_run(run_dir).events == []  # a scorecard alone still renders


def test_missing_or_bad_scorecard_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"scorecard\.json not found"):
        load_scored_run(tmp_path)
    (tmp_path / "scorecard.json").write_text(json.dumps({"run": {"run_id": "x"}}))
    with pytest.raises(ConfigError, match=r"scorecard.json: field '.*': not a valid scorecard"):
        load_scored_run(tmp_path)


def test_excerpt_keeps_faults_and_failures_not_noise(run_dir: Path) -> None:
    run = load_scored_run(run_dir)
    text = journal_excerpt(run.events, scenario="kill-fraud", repeat=1)
    kinds = [json.loads(line)["kind"] for line in text.splitlines()]
    assert "fault_injected" in kinds and "fault_reverted" in kinds and "probe" in kinds
    assert all(json.loads(line).get("ok", False) is False for line in text.splitlines()
               if json.loads(line)["kind"] in ("probe", "load_sample"))
    assert all(json.loads(line)["repeat"] == 1 for line in text.splitlines())
    short = journal_excerpt(run.events, scenario="kill-fraud", limit=5)
    assert len(short.splitlines()) == 6 and "truncated" in short.splitlines()[-1]


def test_excerpt_redacts_secrets() -> None:
    ev = FaultInjectedEvent(seq=1, kind="fault_injected", t_mono=1.0, t_wall=1.0, scenario="s", fault_id="f",
                            type="latency", params={"headers": {"Authorization": "Bearer s3cr3t"},
                                                    "api_token": "tok-123", "latency": 400})
    text = journal_excerpt([ev], scenario="s")
    assert "s3cr3t" not in text and "tok-123" not in text
    assert json.loads(text)["params"]["latency"] == 400
