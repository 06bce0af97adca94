"""The one secret-redaction rule set, used by everything that writes to disk.

The journal, span files, traffic recordings, the load config copy, the supervisor's state
file and the cleanup ledger all pass what they write through here, so a credential is
masked the same way (with :data:`REDACTED`) wherever it would otherwise land.

What counts as secret:

- **Names** (header names, JSON/attribute keys, query and form parameters, env var names,
  ``--flags``): anything containing ``secret``, ``password``/``passwd``, ``authorization``,
  ``cookie``, ``api-key``/``apikey`` (also private/access/client/... keys) or ``token``.
  Attribute keys are judged on their last dotted segment, so
  ``http.request.header.authorization`` is secret.
- **Not** secret, although they look alike: token *counts* and their kin, such as
  ``gen_ai.usage.input_tokens``, ``max_tokens``, ``token_count``, ``token_type`` and
  ``tokenizer``, ``token_url``; plain ``key`` (``keyword``, ``idempotency-key``, ``sort_key``);
  OAuth metadata such as ``authorizationUrl``.
- **Values in text**: the password of URL userinfo (``scheme://user:pw@host``), secret
  query parameters, ``name=value`` / ``name: value`` pairs with a secret name (as they
  appear in error messages) and ``Bearer <credential>``.

Inside URLs and form bodies the marker is percent-encoded (``%5BREDACTED%5D``) so they stay
valid. Every function here is idempotent (redacting twice equals redacting once) and stdlib-only,
because the Locust side (gevent-patched) imports it too.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "is_secret_name",
    "redact",
    "redact_argv",
    "redact_query_string",
    "redact_text",
    "redact_url",
]

REDACTED = "[REDACTED]"
_REDACTED_IN_URL = quote(REDACTED, safe="")  # "%5BREDACTED%5D": brackets are not valid in a query

# Token counts and the like are not credentials: "token" followed by these is kept.
_TOKEN_LOOKALIKE = r"s|[-_ ]?(?:count|type|usage|limit|budget|url|uri|endpoint|ize|iz(?:er|ation))"
_SECRET_WORD = (
    r"secret|passw(?:or)?d|(?:authorization|cookie)(?![a-z])"
    r"|(?:api|private|access|client|signing|subscription|master|session|functions)[-_ ]?key"
    rf"|token(?!{_TOKEN_LOOKALIKE})"
)
_SECRET_NAME = re.compile(_SECRET_WORD, re.IGNORECASE)
# what every text rule below needs somewhere in the string: most strings have none, and skip them all
_MAYBE_SECRET = re.compile(r"secret|passw|authorization|cookie|key|token|bearer|basic|://", re.IGNORECASE)
_URL_START = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#]", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^/\s@]+@")
# name=value or name: value (optionally quoted, as in JSON or repr) inside free text, the
# secret word in the name's last dotted segment
_PAIR = re.compile(
    rf"([\w.-]*(?:{_SECRET_WORD})[\w-]*[\"']?\s*[=:]\s*[\"']?)(?:(?:bearer|basic)\s+)?[^\s&,;\"']+",
    re.IGNORECASE,
)
# a bearer credential without a name before it (at least 8 characters: "Bearer token" is prose)
_BEARER = re.compile(r"(\bbearer\s+)[\w.~+/-]{8,}=*", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)  # the same few keys come by on every journal event
def is_secret_name(name: str) -> bool:
    """Whether values under this name (header, key, parameter, env var, flag) are masked."""
    return bool(_SECRET_NAME.search(str(name).rsplit(".", 1)[-1]))


def redact_text(text: str) -> str:
    """Free text (an error message, a log line) with URL passwords, secret pairs and bearer tokens masked."""
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + "@", text)
    text = _PAIR.sub(lambda m: m.group(1) + REDACTED, text)
    return _BEARER.sub(lambda m: m.group(1) + REDACTED, text)


def redact_query_string(query: str) -> str:
    """A query string or form body with secret parameters' values masked; the rest kept byte for byte."""
    pieces = []
    for piece in query.split("&"):
        name, eq, _value = piece.partition("=")
        pieces.append(f"{name}={_REDACTED_IN_URL}" if eq and is_secret_name(unquote_plus(name)) else piece)
    return "&".join(pieces)


def redact_url(url: str) -> str:
    """A URL with the userinfo password and secret query parameters masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:{_REDACTED_IN_URL}@{host}"
    query = redact_query_string(parts.query) if parts.query else parts.query
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redact_string(value: str) -> str:
    if not _MAYBE_SECRET.search(value):
        return value
    if _URL_START.match(value) and not any(c.isspace() for c in value):
        return redact_url(value)
    return redact_text(value)


def redact(value: Any) -> Any:
    """A copy of a JSON-like value: values under secret names masked, strings cleaned, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_name(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _redact_string(value)
    return value


def redact_argv(argv: list[str]) -> tuple[list[str], bool]:
    """Argv with secret values masked (``--token=x``, ``--password x``, ``TOKEN=x``) and whether any was."""
    out: list[str] = []
    changed = False
    hide_next = False
    for arg in argv:
        name, eq, _value = arg.partition("=")
        if hide_next:
            out.append(REDACTED)
            changed, hide_next = True, False
        elif eq and is_secret_name(name.lstrip("-")):
            out.append(f"{name}={REDACTED}")
            changed = True
        elif arg.startswith("-") and is_secret_name(arg.lstrip("-")):
            out.append(arg)
            hide_next = True
        else:
            redacted = redact_text(arg)
            changed = changed or redacted != arg
            out.append(redacted)
    return out, changed
