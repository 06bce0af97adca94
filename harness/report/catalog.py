"""The report formats: the built-ins and those of the ``harness.reporters`` entry point group.

A format is one module that defines a ``Reporter`` (see ``harness.report.base``) plus one
line in ``BUILTINS`` here; a user's format is a ``Reporter`` (or a list of them) named by
an entry point, e.g. ``[project.entry-points."harness.reporters"] sarif = "my_pkg:REPORTER"``.
``harness report --list-formats`` prints them all with their docs lines.
"""

from __future__ import annotations

from harness.plugins import Catalog
from harness.report import allure, html, junit, markdown
from harness.report.base import Reporter

__all__ = ["BUILTINS", "REPORTERS", "reporters"]

#: the formats every run writes, in writing order
BUILTINS: tuple[Reporter, ...] = (html.REPORTER, markdown.REPORTER, junit.REPORTER, allure.REPORTER)

REPORTERS: Catalog[Reporter] = Catalog("harness.reporters", Reporter, "report format", BUILTINS)


def reporters() -> dict[str, Reporter]:
    """Name -> reporter, built-ins first; a broken plugin raises ``ConfigError`` naming it."""
    return REPORTERS.kinds()
