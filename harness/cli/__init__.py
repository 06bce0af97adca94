"""The ``harness`` command line (typer + rich).

Each command group lives in its own module with a ``register(app)`` function and
imports its heavy dependencies inside the command bodies, so ``harness --version``
and ``harness validate`` start fast. Every ``HarnessError`` becomes one line on
stderr and exit code 2; no traceback reaches the user for bad input.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from harness import __version__
from harness.cli import contracts, faults, gameday, gate, init, proxy, report, run, sandbox, score, validate
from harness.errors import HarnessError

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

app = typer.Typer(
    name="harness",
    help="Chaos and contract testing for AI agent orchestrations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"harness {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Chaos and contract testing for AI agent orchestrations."""


for module in (init, validate, sandbox, proxy, faults, run, gameday, score, report, gate, contracts):
    module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, map HarnessError to exit 2 without traceback."""
    try:
        code = app(args=argv, standalone_mode=False)
    except HarnessError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True)  # "[x]" in a message is text
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        # Usage errors (bad flag values, unknown options) arrive here in non-standalone mode, as
        # exceptions of the click that typer vendors; they know how to show themselves (exit 2).
        show, exit_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            sys.exit(exit_code)
        raise
    sys.exit(code if isinstance(code, int) else 0)
