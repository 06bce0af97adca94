"""``harness validate`` and ``harness schema``.

The scenario model leaves fault and probe types to their catalogs (``harness.faults.catalog``,
``harness.engine.probes``) and workflow engines to ``harness.engine.workflow``; both commands
consult them here, so a plugin's kinds are validated and exported like the built-in ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console

from harness.errors import ConfigError

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _check_kinds(model: BaseModel) -> None:
    """Every fault, probe and workflow engine named must exist in its catalog and fit its spec."""
    # imported here: the catalogs pull in httpx and the fault modules, which `harness --help` does not need
    from harness.engine.probes import resolve_probe
    from harness.engine.workflow import WORKFLOW_ENGINES
    from harness.faults.catalog import check_fault
    from harness.model import Scenario, SystemSpec

    if isinstance(model, SystemSpec) and model.workflow and model.workflow.engine not in WORKFLOW_ENGINES:
        raise ConfigError(f"unknown workflow engine {model.workflow.engine!r}; known: "
                          f"{', '.join(sorted(WORKFLOW_ENGINES))}", field="workflow.engine")
    if isinstance(model, SystemSpec):
        from harness.contracts.catalog import check_service_protocols  # ~3 s (schemathesis): system files only

        check_service_protocols(model)
    if not isinstance(model, Scenario):
        return
    checks = [(f"faults[{i}]", check_fault, fault) for i, fault in enumerate(model.faults)]
    checks += [(f"steady_state[{i}]", resolve_probe, probe) for i, probe in enumerate(model.steady_state)]
    for where, check, item in checks:
        try:
            check(item)
        except ConfigError as exc:
            raise ConfigError(exc.detail, field=f"{where}.{exc.field}" if exc.field else where) from None


def validate_with_catalogs(path: Path) -> BaseModel:
    """A system or scenario file checked against the models and the catalogs; errors name file, line, field."""
    from harness.model.loader import error_at_field, validate_file

    model = validate_file(path)
    try:
        _check_kinds(model)
    except ConfigError as exc:
        if exc.field:
            raise error_at_field(path, exc.field, exc.detail) from None
        raise ConfigError(exc.detail, path=str(path)) from None
    return model


def _add_defs(schema: dict[str, Any], model: type[BaseModel]) -> str:
    """Put ``model``'s schema (and the definitions it uses) into ``schema['$defs']``; return its ref."""
    sub = model.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs = schema.setdefault("$defs", {})
    defs.update(sub.pop("$defs", {}))
    defs[model.__name__] = sub
    return f"#/$defs/{model.__name__}"


def scenario_schema() -> dict[str, Any]:
    """The scenario schema with every fault type's params and every probe type from the catalogs."""
    from harness.engine.probes import probe_kinds
    from harness.faults.catalog import fault_kinds
    from harness.model import Scenario
    from harness.model.scenario import BUILTIN_PROBES, ProbeSpec

    schema = Scenario.model_json_schema(by_alias=True)
    fault = schema["$defs"]["FaultSpec"]
    kinds = fault_kinds()
    fault["properties"]["type"]["enum"] = sorted(kinds)
    fault["allOf"] = [
        {"if": {"properties": {"type": {"const": name}}, "required": ["type"]},
         "then": {"description": f"{kind.family}: {kind.doc}",
                  "properties": {"params": {"$ref": _add_defs(schema, kind.params)}}}}
        for name, kind in sorted(kinds.items())
    ]
    probes = schema["properties"]["steady_state"]["items"]["oneOf"]
    generic = {"$ref": f"#/$defs/{ProbeSpec.__name__}"}
    if generic in probes:  # other types are each kind's own spec, not "anything with a type"
        probes.remove(generic)
    for name, kind in sorted(probe_kinds().items()):
        if name not in BUILTIN_PROBES:
            probes.append({"$ref": _add_defs(schema, kind.spec)})
    return schema


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate_cmd(
        files: list[Path] = typer.Argument(..., help="system.yaml and/or scenario YAML files"),
    ) -> None:
        """Check system and scenario YAML against the models; errors name file, line and field."""
        failed = 0
        for path in files:
            try:
                model = validate_with_catalogs(path)
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
            schema = scenario_schema() if name == "scenario" else model.model_json_schema(by_alias=True)
            schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
            schema["$id"] = f"https://harness.dev/schemas/{name}.schema.json"
            target.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            console.print(f"wrote {target}")

    _ = (validate_cmd, schema_cmd, ConfigError)
