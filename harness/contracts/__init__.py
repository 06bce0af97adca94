"""Contract tests between agents: OpenAPI (schemathesis), traffic -> Pact V4 and
verification, A2A 1.0 and MCP live checks, compatibility diff and a local can-i-deploy.

Public API (heavy libraries load lazily inside the functions)::

    run_all(system, ...) -> list[ContractResult]     # every suite against a system.yaml
    write_results(results, run_dir)                  # -> run_dir/contracts.json
    generate_pacts(recordings, out_dir, system=...)  # recorded JSONL/HAR -> Pact V4 files
    verify_provider(name, base_url, pact_files)      # pact-python Verifier -> ContractResult
    check_agent(url) / check_server(url) / check_openapi(location)
    diff_docs(old, new) -> (kind, [Change]); can_i_deploy(provider, new_doc, pacts)
    snapshot(system, out_dir)                         # baselines for diff/compat checks
    compat.compare_schema(old, new, where, direction) # the schema rules diff and can-i-deploy share

Nothing passes for having checked nothing: a contract that cannot be fetched is a failed
``document`` check naming the service, and a result with zero checks is a failure.

See docs/contracts.md.
"""

from harness.contracts.a2a import check_agent
from harness.contracts.catalog import can_i_deploy, diff_docs
from harness.contracts.diff import Change, load_doc
from harness.contracts.mcp import check_server
from harness.contracts.openapi import check_openapi
from harness.contracts.pact import generate_pacts, verify_provider
from harness.contracts.results import all_passed, read_results, write_results
from harness.contracts.run import run_all, snapshot, verify_pacts

__all__ = [
    "Change", "all_passed", "can_i_deploy", "check_agent", "check_openapi", "check_server", "diff_docs",
    "generate_pacts", "load_doc", "read_results", "run_all", "snapshot", "verify_pacts", "verify_provider",
    "write_results",
]
