"""``harness proxy serve``: run the embedded Toxiproxy-compatible proxy server."""

from __future__ import annotations

from pathlib import Path

import typer

proxy_app = typer.Typer(help="Embedded Toxiproxy-compatible proxy (network and HTTP faults).",
                        no_args_is_help=True)


@proxy_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="API address (loopback unless --api-host)."),
    port: int = typer.Option(8474, "--port", help="API port (Toxiproxy's default 8474; 0 = any free)."),
    config: Path | None = typer.Option(None, "--config",
                                       help="Toxiproxy populate JSON file: proxies to create at start."),
    api_host: str | None = typer.Option(None, "--api-host",
                                        help="Expose the API on this non-loopback address (unauthenticated!)."),
) -> None:
    """Serve the proxy API until SIGTERM/SIGINT; prints the address it listens on."""
    from harness.errors import ConfigError
    from harness.proxy.server import check_api_host, run

    if not 0 <= port <= 65535:
        raise ConfigError(f"port must be 0-65535, got {port}", field="--port")
    if config is not None and not config.is_file():
        raise ConfigError("no such file", path=str(config), field="--config")
    bind = api_host or host
    check_api_host(bind, allow_public=api_host is not None)
    run(bind, port, config, ready=lambda line: typer.echo(line))


def register(app: typer.Typer) -> None:
    """Add ``harness proxy ...`` to app."""
    app.add_typer(proxy_app, name="proxy")
