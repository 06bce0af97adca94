"""A stand-in for a harness run, started as a real subprocess by the tests.

It injects faults inside a FaultSession (ledger first), prints ``ready`` and waits to
be interrupted (SIGINT/SIGTERM: the session must revert everything) or killed
(SIGKILL: the ledger must let ``harness cleanup`` revert everything).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from harness.faults.base import Fault
from harness.faults.ledger import CleanupLedger
from harness.faults.network import ProxyDownFault, ToxicFault
from harness.faults.process import PauseFault
from harness.faults.session import FaultSession


class SlowRevertFault(Fault):
    """Its effect is a marker file; reverting takes a second so a test can signal mid-revert."""

    type = "marker"
    ttl_s = 0.0

    def __init__(self, path: Path) -> None:
        self.path, self.fault_id = path, "run-slow"

    def inject(self) -> None:
        self.path.write_text("on")

    def revert(self) -> None:
        print("reverting", flush=True)
        time.sleep(1.0)
        self.path.unlink(missing_ok=True)

    def ledger_entry(self) -> dict[str, Any]:
        return {"kind": "marker", "fault_id": self.fault_id, "type": self.type}


class OnePid:
    """ProcessControl for one process the test started (this script cannot restart it)."""

    def __init__(self, pid: int) -> None:
        self._pid = pid

    def pid(self, name: str) -> int:
        return self._pid

    def restart(self, name: str) -> None:
        raise RuntimeError("not supported here")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--pause-pid", type=int)
    parser.add_argument("--api")
    parser.add_argument("--proxy")
    parser.add_argument("--down-proxy")
    parser.add_argument("--ttl", type=float, default=300.0)
    parser.add_argument("--slow-marker", type=Path)
    parser.add_argument("--prefix", default="run", help="fault id prefix (unique per test under xdist)")
    args = parser.parse_args()
    with FaultSession(CleanupLedger(args.ledger)) as session:
        if args.api and args.proxy:
            session.inject(ToxicFault(args.api, args.proxy, "latency", fault_id=f"{args.prefix}-latency",
                                      ttl_s=args.ttl, attributes={"latency": 500}))
        if args.api and args.down_proxy:
            session.inject(ProxyDownFault(args.api, args.down_proxy, fault_id=f"{args.prefix}-down", ttl_s=args.ttl))
        if args.pause_pid:
            session.inject(PauseFault("victim", fault_id=f"{args.prefix}-pause", supervisor=OnePid(args.pause_pid),
                                      ttl_s=args.ttl))
        if args.slow_marker:
            session.inject(SlowRevertFault(args.slow_marker))
        print("ready", flush=True)
        while True:
            time.sleep(0.05)


if __name__ == "__main__":
    main()
