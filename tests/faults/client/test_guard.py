"""Guard: ledger, allowlist and environment checks, FaultSession (in-process parts)."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import SafetyError
from harness.faults.base import Fault, FaultError
from harness.faults.ledger import CleanupLedger, cleanup
from harness.faults.session import FaultSession
from harness.model.system import SystemSpec
from harness.system.safety import check_environment, check_target, is_loopback, parse_host


class RecordingFault(Fault):
    """A fault whose effect is a file on disk: exists while injected. Real I/O, tiny scope."""

    type = "marker"

    def __init__(self, path: Path, fault_id: str, ledger: CleanupLedger | None = None,
                 fail_inject: bool = False) -> None:
        self.path, self.fault_id, self.ttl_s = path, fault_id, 0.0
        self.ledger, self.fail_inject = ledger, fail_inject
        self.seen_in_ledger_at_inject: bool | None = None

    def inject(self) -> None:
        if self.ledger is not None:
            self.seen_in_ledger_at_inject = any(
                r["fault_id"] == self.fault_id for r in self.ledger.outstanding())
        self.path.write_text("on")
        if self.fail_inject:
            raise FaultError("half applied")

    def revert(self) -> None:
        self.path.unlink(missing_ok=True)

    def ledger_entry(self) -> dict[str, Any]:
        return {"kind": "marker", "fault_id": self.fault_id, "type": self.type, "path": str(self.path)}


def _system(allow: list[str] | None = None, environment: str = "staging") -> SystemSpec:
    return SystemSpec.model_validate({
        "name": "s", "safety": {"environment": environment, "allow_targets": allow or []},
        "services": [{"name": "a", "kind": "agent", "protocol": "rest", "base_url": "http://127.0.0.1:1",
                      "external": True}],
    })


# --------------------------------------------------------------------------- ledger

def test_ledger_records_before_inject_and_fsyncs_every_line(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = CleanupLedger(tmp_path / "sub" / "ledger.jsonl")
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:  # wraps the real fsync; only records which file was synced
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    fault = RecordingFault(tmp_path / "m", "f1", ledger)
    with FaultSession(ledger, handle_signals=False) as session:
        session.inject(fault)
        assert fault.seen_in_ledger_at_inject is True
        assert [r["fault_id"] for r in ledger.outstanding()] == ["f1"]
    lines = (tmp_path / "sub" / "ledger.jsonl").read_text().splitlines()
    assert [json.loads(x)["event"] for x in lines] == ["injecting", "reverted"]
    ledger_file = str(tmp_path / "sub" / "ledger.jsonl")
    assert synced.count(ledger_file) == 2  # one fsync per line
    assert str(tmp_path / "sub") in synced  # and the new directory entry
    assert ledger.outstanding() == [] and not fault.path.exists()


def test_ledger_skips_a_torn_last_line(tmp_path: Path) -> None:
    ledger = CleanupLedger(tmp_path / "l.jsonl")
    ledger.record_injecting(RecordingFault(tmp_path / "m", "f1"))
    with (tmp_path / "l.jsonl").open("a") as fh:
        fh.write('{"event": "reverted", "fault_id": "f1"')  # crash mid-write
    assert [r["fault_id"] for r in ledger.outstanding()] == ["f1"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["inject", "revert"]), st.integers(0, 4)), max_size=25))
def test_outstanding_matches_a_model(tmp_path_factory: pytest.TempPathFactory,
                                     ops: list[tuple[str, int]]) -> None:
    path = tmp_path_factory.mktemp("ledger") / "l.jsonl"
    ledger = CleanupLedger(path)
    model: dict[str, None] = {}
    for op, n in ops:
        fid = f"f{n}"
        if op == "inject":
            ledger.record_injecting(RecordingFault(path.parent / fid, fid))
            model.pop(fid, None)
            model[fid] = None
        else:
            ledger.record_reverted(fid)
            model.pop(fid, None)
    assert [r["fault_id"] for r in ledger.outstanding()] == list(model)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=60), st.sampled_from([
    b"[]", b"null", b'{"event": "reverted"}', b'{"fault_id": 3, "event": "injecting"}', b"\xff\xfe"])),
    max_size=8))
def test_garbage_lines_never_break_the_ledger(tmp_path_factory: pytest.TempPathFactory,
                                              junk: list[bytes]) -> None:
    path = tmp_path_factory.mktemp("ledger") / "l.jsonl"
    ledger = CleanupLedger(path)
    ledger.record_injecting(RecordingFault(path.parent / "a", "a"))
    with path.open("ab") as fh:
        fh.write(b"\n".join(j.replace(b"\n", b" ") for j in junk) + b"\n")
    ledger.record_injecting(RecordingFault(path.parent / "b", "b"))
    ledger.record_reverted("a")
    assert [r["fault_id"] for r in ledger.outstanding()] == ["b"]


def test_cleanup_skips_live_runs_and_reports_unknown_kinds(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    record = {"event": "injecting", "fault_id": "x", "entry": {"kind": "nope", "type": "?"},
              "owner_pid": 1, "owner_start": Path("/proc/1/stat").read_text().rsplit(")", 1)[1].split()[19]}
    path.write_text(json.dumps(record) + "\n")
    report = cleanup(path)
    assert [r.outcome for r in report.rows] == ["skipped"] and "still alive" in report.rows[0].detail
    report = cleanup(path, force=True)
    assert [r.outcome for r in report.rows] == ["failed"] and "unknown kind" in report.rows[0].detail
    assert not report.clean


# --------------------------------------------------------------------------- targets

octet = st.integers(0, 255)
ports = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
paths = st.sampled_from(["", "/", "/x?y=1", "/a#frag"])


@given(octet, octet, octet, ports, paths, st.sampled_from(["http", "https", "ws"]))
def test_any_127_address_is_loopback(b: int, c: int, d: int, port: str, path: str, scheme: str) -> None:
    assert check_target(f"{scheme}://127.{b}.{c}.{d}{port}{path}", _system()) == f"127.{b}.{c}.{d}"
    assert check_target(f"127.{b}.{c}.{d}{port}", _system()) == f"127.{b}.{c}.{d}"


@given(st.sampled_from(["localhost", "LOCALHOST", "localhost.", "[::1]", "::1", "[::ffff:127.0.0.1]",
                        "[0:0:0:0:0:0:0:1]"]), ports)
def test_loopback_names_and_ipv6(host: str, port: str) -> None:
    if host == "::1":
        port = ""  # a bare IPv6 address cannot carry a port, nor stand in a URL
    else:
        assert is_loopback(check_target(f"http://{host}{port}/", _system()))
    assert is_loopback(check_target(f"{host}{port}", _system()))


public_ipv4 = st.ip_addresses(v=4).filter(
    lambda a: not a.is_loopback and not a.is_unspecified).map(str)


@given(public_ipv4, st.sampled_from(["127.0.0.1", "localhost", "[::1]"]))
def test_userinfo_tricks_resolve_to_the_real_host(ip: str, loop: str) -> None:
    # the host is what comes after '@': loopback in userinfo buys nothing
    with pytest.raises(SafetyError, match="allow_targets"):
        check_target(f"http://{loop}@{ip}/", _system())
    with pytest.raises(SafetyError, match="allow_targets"):
        check_target(f"http://{loop}:80@{ip}:8080/x", _system())
    assert check_target(f"http://{ip}@{loop}/", _system()) in ("127.0.0.1", "localhost", "::1")


@given(public_ipv4)
def test_other_hosts_need_the_allowlist(ip: str) -> None:
    with pytest.raises(SafetyError, match=r"safety\.allow_targets"):
        check_target(f"http://{ip}:8474", _system())
    assert check_target(f"http://{ip}:8474", _system([ip])) == ip
    net = ipaddress.ip_network(f"{ip}/16", strict=False)
    assert check_target(ip, _system([str(net)])) == ip


@pytest.mark.parametrize("target", [
    "http://evil.example\\@127.0.0.1/", "http://127.0.0.1%2f@evil.example/", "http://127.0.0.1 @evil/",
    "http://127.0.0.1\t/", "", "http://", "http://:80/", "http://[::1/",
])
def test_ambiguous_or_broken_targets_are_refused(target: str) -> None:
    with pytest.raises(SafetyError):
        check_target(target, _system(["evil.example", "evil"]))


@pytest.mark.parametrize("host", [
    "127.0.0.1.evil.example", "localhost.evil.example", "evil-localhost", "127.1", "0x7f.0.0.1",
    "0.0.0.0", "[::]", "2130706433", "localhost.localdomain.evil",
])
def test_lookalikes_are_not_loopback(host: str) -> None:
    with pytest.raises(SafetyError):
        check_target(f"http://{host}:80/", _system())


def test_allowlist_forms() -> None:
    system = _system(["toxiproxy.staging.example", "*.agents.example", "https://gw.example:443/x",
                      "10.1.0.0/16", "2001:db8::/32"])
    assert check_target("http://TOXIPROXY.staging.example.:8474", system) == "toxiproxy.staging.example"
    assert check_target("a.b.agents.example", system) == "a.b.agents.example"
    assert check_target("gw.example", system) == "gw.example"
    assert check_target("http://10.1.2.3", system) == "10.1.2.3"
    assert check_target("http://[2001:db8::5]:1", system) == "2001:db8::5"
    for bad in ("agents.example", "evilagents.example", "10.2.0.1", "staging.example",
                "toxiproxy.staging.example.evil"):
        with pytest.raises(SafetyError):
            check_target(bad, system)


@given(st.text(max_size=40))
def test_parse_host_never_crashes(text: str) -> None:
    try:
        host = parse_host(text)
    except SafetyError:
        return
    assert host and host == host.lower() and not host.endswith(".")


def test_environment_check() -> None:
    assert not check_environment(_system())
    for env in ("production", "Production", "prod"):
        with pytest.raises(SafetyError, match="--i-know-this-is-production"):
            check_environment(_system(environment=env))
        result = check_environment(_system(environment=env), override=True)
        assert result and result.journal_fields()["production_override"] is True
    assert check_environment(_system(), override=True).override_used is False


# --------------------------------------------------------------------------- session

def test_session_reverts_everything_on_error_and_restores_handlers(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    ledger = CleanupLedger(tmp_path / "l.jsonl")
    faults = [RecordingFault(tmp_path / f"m{i}", f"f{i}") for i in range(3)]
    with pytest.raises(RuntimeError, match="boom"), FaultSession(ledger) as session:
        assert signal.getsignal(signal.SIGTERM) != before
        for fault in faults:
            session.inject(fault)
        assert all(f.path.exists() for f in faults)
        raise RuntimeError("boom")
    assert not any(f.path.exists() for f in faults)
    assert ledger.outstanding() == []
    assert signal.getsignal(signal.SIGTERM) == before
    with pytest.raises(FaultError, match="closed"):
        session.inject(RecordingFault(tmp_path / "late", "late"))


def test_failed_inject_is_undone_and_recorded(tmp_path: Path) -> None:
    ledger = CleanupLedger(tmp_path / "l.jsonl")
    fault = RecordingFault(tmp_path / "m", "f1", fail_inject=True)
    with FaultSession(ledger, handle_signals=False) as session:
        with pytest.raises(FaultError, match="half applied"):
            session.inject(fault)
        assert not fault.path.exists() and ledger.outstanding() == [] and session.active == {}


def test_an_ignored_sighup_stays_ignored(tmp_path: Path) -> None:
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        with FaultSession(tmp_path / "l.jsonl"):
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        with FaultSession(tmp_path / "l.jsonl"):
            assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, signal.SIG_IGN)
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_session_in_a_worker_thread_leaves_signals_alone(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGINT)
    seen: list[Any] = []

    def work() -> None:
        with FaultSession(tmp_path / "l.jsonl"):
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [before]
