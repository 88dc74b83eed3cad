"""Sandboxed Jinja2 prompt templates with strict variables.

Templates render in a :class:`~jinja2.sandbox.SandboxedEnvironment` with
:class:`~jinja2.StrictUndefined`: a template cannot reach Python internals, load files, or silently
render a misspelt variable as an empty string.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
import jinja2.meta
from jinja2.sandbox import SandboxedEnvironment

from rlaif.constitution.errors import TemplateVariableError
from rlaif.constitution.schema import Principle

TEMPLATE_VARIABLES: dict[str, dict[str, str]] = {
    "critique": {
        "conversation": "the conversation so far as text (User:/Assistant: turns)",
        "prompt": "the conversation as a list of {role, content} messages",
        "response": "the response being critiqued",
        "principle": "the sampled Principle (fields: id, title, description, critique, ...)",
        "request": "the principle's critique request",
    },
    "revision": {
        "conversation": "the conversation so far as text",
        "prompt": "the conversation as a list of messages",
        "response": "the response being revised",
        "critique": "the critique written in the previous step",
        "principle": "the sampled Principle",
        "request": "the principle's revision request",
    },
    "compare": {
        "conversation": "the conversation so far as text",
        "prompt": "the conversation as a list of messages",
        "response_a": "the first response shown, already labelled (A) or wrapped in its markers",
        "response_b": "the second response shown, already labelled (B) or wrapped in its markers",
        "principle": "the sampled Principle",
        "question": "the principle's comparison question",
        "nonce": "the random code carried by this call's response delimiters",
    },
}
"""The variables each template stage may use (stage → variable → what it holds)."""
TEMPLATE_VARIABLES["compare_cot"] = dict(TEMPLATE_VARIABLES["compare"])
TEMPLATE_VARIABLES["score"] = {
    "conversation": "the conversation so far as text",
    "prompt": "the conversation as a list of messages",
    "response": "the response being scored, with label-like text neutralised",
    "principle": "the sampled Principle",
    "question": "the principle's pointwise question (its ``score``)",
}

REQUIRED_VARIABLES: dict[str, tuple[str, ...]] = {
    "critique": ("response",),
    "revision": ("response",),
    "compare": ("response_a", "response_b"),
    "compare_cot": ("response_a", "response_b"),
    "score": ("response",),
}
"""The variables a template of each stage must use: the response(s) it is about."""

_ENVIRONMENT = SandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=False,
    trim_blocks=True,
    lstrip_blocks=True,
)


def format_conversation(messages: Sequence[Mapping[str, Any]]) -> str:
    """Render chat messages as ``User: ...`` / ``Assistant: ...`` paragraphs."""
    names = {"user": "User", "assistant": "Assistant", "system": "System"}
    return "\n\n".join(
        f"{names.get(str(m['role']), str(m['role']).title())}: {m['content']}" for m in messages
    )


def compile_template(source: str) -> jinja2.Template:
    """Compile template text in the sandbox; raises :class:`jinja2.TemplateSyntaxError`."""
    return _ENVIRONMENT.from_string(source)


def template_variables(source: str) -> set[str]:
    """The variables the template text ``source`` reads (found on the sandbox's parse of it, so
    a variable in a comment or a string does not count)."""
    return set(jinja2.meta.find_undeclared_variables(_ENVIRONMENT.parse(source)))


def unused_required_variables(stage: str, source: str) -> list[str]:
    """The :data:`REQUIRED_VARIABLES` of ``stage`` that the template text ``source`` never
    reads."""
    used = template_variables(source)
    return [name for name in REQUIRED_VARIABLES.get(stage, ()) if name not in used]


def template_hash(source: str) -> str:
    """Short content hash of a template's source, recorded in dataset manifests."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def sample_variables(stage: str, principle: Principle) -> dict[str, Any]:
    """Plausible values for every documented variable of ``stage``, used to test-render templates
    at load time so that misspelt variables are reported then, not in the middle of a run."""
    prompt = [{"role": "user", "content": "How do I pick a lock?"}]
    values: dict[str, Any] = {
        "conversation": format_conversation(prompt),
        "prompt": prompt,
        "response": "Insert a tension wrench, then rake the pins.",
        "critique": "The response gives step-by-step instructions without asking why.",
        "principle": principle,
        "request": principle.critique if stage == "critique" else principle.revision,
        "response_a": "(A) Sure, here is how.",
        "response_b": "(B) I can't help with that.",
        "question": (
            (principle.score or "Is the reply good?")
            if stage == "score"
            else (principle.compare or "Which response is better?")
        ),
        "nonce": "0000",
    }
    return {name: values[name] for name in TEMPLATE_VARIABLES[stage]}


def undefined_name(error: jinja2.UndefinedError) -> str:
    """Extract the variable or attribute name from Jinja's ``'x' is undefined`` message."""
    message = str(error.message or "")
    attribute = re.search(r"has no attribute '([^']+)'", message)
    if attribute:
        return attribute.group(1)
    if message.startswith("'") and "'" in message[1:]:
        return message[1 : message.index("'", 1)]
    return message


def render_template(
    template: jinja2.Template, stage: str, name: str, variables: Mapping[str, Any]
) -> str:
    """Render ``template`` for ``stage``; a missing variable raises :class:`TemplateVariableError`
    naming the template and the variable."""
    try:
        return template.render(**variables).strip()
    except jinja2.UndefinedError as error:
        missing = undefined_name(error)
        documented = ", ".join(TEMPLATE_VARIABLES.get(stage, {}))
        raise TemplateVariableError(
            f"template {name!r} ({stage}) needs variable {missing!r}, which was not given; "
            f"documented variables: {documented}"
        ) from None
