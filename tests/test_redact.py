"""The one redaction rule set, property-tested: no secret survives in any of the forms the
harness writes (JSON keys, headers, env vars, argv, URLs, free text), token counts survive,
and redacting twice changes nothing."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.redact import (
    REDACTED,
    is_secret_name,
    redact,
    redact_argv,
    redact_query_string,
    redact_text,
    redact_url,
)

SECRET_WORDS = ["token", "secret", "password", "passwd", "authorization", "cookie", "api_key", "apikey",
                "api-key", "private_key", "access_token", "refresh_token", "client_secret", "id_token",
                "set-cookie", "proxy-authorization", "x-api-key", "session_key", "bearer_token"]
COUNT_KEYS = ["gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "max_tokens", "total_tokens",
              "prompt_tokens", "completion_tokens", "llm.token_count.prompt", "token_count", "tokens",
              "tokenizer", "token_type", "tokenCount", "maxTokens", "usage.tokens_used", "token_url"]

# Secret values start with "Zq" and nothing else generated contains a "Z", so a surviving
# secret is an exact substring of the output, never a coincidence.
secret_values = st.text(alphabet="abcdefghijkmnopqrstuvwxyz0123456789", min_size=6, max_size=20).map(
    lambda s: "Zq" + s)
plain_alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 _-./:"
plain_text = st.text(alphabet=plain_alphabet, max_size=20)


@st.composite
def secret_names(draw: st.DrawFn) -> str:
    """A secret word in any case, with an optional prefix/suffix and dotted namespace."""
    word = draw(st.sampled_from(SECRET_WORDS))
    word = draw(st.sampled_from([word, word.upper(), word.title()]))
    prefix = draw(st.sampled_from(["", "x-", "db_", "GITHUB_", "my-", "http.request.header."]))
    suffix = draw(st.sampled_from(["", "_value", "-v2"]))
    return prefix + word + suffix


plain_keys = st.from_regex(r"[a-y][a-y_]{0,8}", fullmatch=True).filter(lambda k: not is_secret_name(k))


@st.composite
def secret_forms(draw: st.DrawFn) -> tuple[Any, str]:
    """A value holding one secret in one of the shapes that reach disk, and that secret."""
    secret, name = draw(secret_values), draw(secret_names())
    host = draw(st.sampled_from(["h", "127.0.0.1:8000", "api.example.com"]))
    form = draw(st.sampled_from([
        {name: secret},
        {"nested": [{name: secret}]},
        {name: {"deep": secret}},
        f"http://user:{secret}@{host}/p",
        f"https://{host}/p?page=2&{name}={secret}",
        f"failed GET http://{host}/x?{name}={secret}: 500",
        f"Authorization: Bearer {secret}",
        f"sent header {name}: {secret}",
        f'{{"{name}": "{secret}"}}',
        f"{name}={secret}",
        f"retry with bearer {secret}",
    ]))
    return form, secret


json_scalars = st.none() | st.booleans() | st.integers() | plain_text
documents = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                         | st.dictionaries(plain_keys, inner, max_size=3), max_leaves=8)


@given(documents, secret_forms())
@settings(max_examples=300)
def test_no_secret_survives(doc: Any, form: tuple[Any, str]) -> None:
    value, secret = form
    out = redact({"doc": doc, "where": value})
    assert secret not in json.dumps(out)
    assert out["doc"] == doc  # what holds no secret is left as it was


@given(st.dictionaries(st.sampled_from(COUNT_KEYS), st.integers(0, 10**6), min_size=1), documents)
def test_token_counts_survive(counts: dict[str, int], doc: Any) -> None:
    assert redact({**counts, "doc": doc}) == {**counts, "doc": doc}
    assert not any(is_secret_name(key) for key in counts)


@given(st.recursive(json_scalars | st.text(max_size=40) | secret_forms().map(lambda f: f[0]),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.one_of(plain_keys, secret_names()), inner, max_size=3), max_leaves=8))
@settings(max_examples=300)
def test_redaction_is_idempotent(doc: Any) -> None:
    once = redact(doc)
    assert redact(once) == once


@given(st.text(max_size=60))
@settings(max_examples=300)
def test_text_redaction_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once
    assert redact_url(redact_url(text)) == redact_url(text)
    assert redact_query_string(redact_query_string(text)) == redact_query_string(text)


@given(secret_values, secret_names())
def test_argv_secrets_are_masked_in_every_spelling(secret: str, name: str) -> None:
    for argv in (["svcctl", f"--{name}={secret}"], ["svcctl", f"--{name}", secret], ["env", f"{name}={secret}"]):
        out, changed = redact_argv(argv)
        assert changed and secret not in " ".join(out) and out[0] == argv[0]
        assert redact_argv(out)[0] == out


def test_argv_example_and_plain_arguments_kept() -> None:
    argv = ["svcctl", "--token=abc", "--password", "hunter2", "API_KEY=xyz", "resume", "agent"]
    assert redact_argv(argv) == (["svcctl", f"--token={REDACTED}", "--password", REDACTED, f"API_KEY={REDACTED}",
                                  "resume", "agent"], True)
    assert redact_argv(["kill", "-STOP", "1234"]) == (["kill", "-STOP", "1234"], False)


def test_env_names_as_the_supervisor_writes_them() -> None:
    env = {"GITHUB_TOKEN": "a", "DB_PASSWORD": "b", "X_API_KEY": "c", "Authorization": "d", "HOME": "/h",
           "DATABASE_URL": "postgres://app:pw1@db:5432/app", "HARNESS_LOAD_TOKEN": "e"}
    assert redact(env) == {"GITHUB_TOKEN": REDACTED, "DB_PASSWORD": REDACTED, "X_API_KEY": REDACTED,
                           "Authorization": REDACTED, "HOME": "/h",
                           "DATABASE_URL": "postgres://app:%5BREDACTED%5D@db:5432/app",
                           "HARNESS_LOAD_TOKEN": REDACTED}


def test_ordinary_text_urls_and_lookalikes_are_left_alone() -> None:
    for text in ("HTTPError: 500 Server Error for url: submit", "Bearer token missing",
                 "max_tokens=5 input_tokens: 3", "keyword: x, sort_key=3, idempotency-key: k-1"):
        assert redact_text(text) == text
    assert redact_url("http://127.0.0.1:8000/claims/{id}") == "http://127.0.0.1:8000/claims/{id}"
    assert redact_url("http://h/p?page=2&token=abc&q=a%20b") == "http://h/p?page=2&token=%5BREDACTED%5D&q=a%20b"
    card = {"securitySchemes": {"oauth": {"flows": {"authorizationCode": {"authorizationUrl": "https://a/x",
                                                                          "tokenUrl": "https://a/t"}}}}}
    assert redact(card) == card
