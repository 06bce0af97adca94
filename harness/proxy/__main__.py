"""``python -m harness.proxy [--host H] [--port P] [--config FILE]``: serve the embedded proxy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import HarnessError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.proxy",
                                     description="Toxiproxy-compatible proxy server (harness).")
    parser.add_argument("--host", default="127.0.0.1", help="API address, loopback only (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8474, help="API port (0 = pick a free one)")
    parser.add_argument("--config", type=Path, help="Toxiproxy populate JSON file to load at start")
    parser.add_argument("--api-host", help="serve the API on this non-loopback address instead "
                                           "(explicit opt-in: the API is unauthenticated)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0-65535, got {args.port}")
    from harness.proxy.server import check_api_host, run

    try:
        bind = args.api_host or args.host
        check_api_host(bind, allow_public=args.api_host is not None)
        run(bind, args.port, args.config, ready=lambda line: print(line, flush=True))
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
