"""``harness validate`` and ``harness schema``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from harness.errors import ConfigError

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate_cmd(
        files: list[Path] = typer.Argument(..., help="system.yaml and/or scenario YAML files"),
    ) -> None:
        """Check system and scenario YAML against the models; errors name file, line and field."""
        from harness.model.loader import validate_file

        failed = 0
        for path in files:
            try:
                model = validate_file(path)
            except ConfigError as exc:
                failed += 1
                err.print(f"[red]✗[/] {exc}")
            else:
                console.print(f"[green]✓[/] {path} ({type(model).__name__})")
        if failed:
            raise typer.Exit(2)

    @app.command("schema")
    def schema_cmd(
        out: Path = typer.Option(Path("schemas"), "--out", "-o", help="folder for *.schema.json"),
    ) -> None:
        """Export the JSON Schemas of system.yaml, scenarios, scorecard.json and a journal.jsonl line."""
        from harness.model import SCHEMAS

        out.mkdir(parents=True, exist_ok=True)
        for name, model in SCHEMAS.items():
            target = out / f"{name}.schema.json"
            schema = model.model_json_schema(by_alias=True)
            schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
            schema["$id"] = f"https://harness.dev/schemas/{name}.schema.json"
            target.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            console.print(f"wrote {target}")

    _ = (validate_cmd, schema_cmd, ConfigError)
