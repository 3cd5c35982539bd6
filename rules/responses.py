"""Reading responses: text templates and media URLs, with every `{variable}` a template uses
checked against what will be there when it is sent.

A variable is known when it is built in, a slot of the intent, a value the rules remember, or
an output of the intent's action; the last two need every file, so that check runs later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import yaml

from rules.model import Response, RuleSet
from rules.nodes import Reader

TEMPLATE_VARIABLE = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")
# Variables every template may use.
BUILTIN_VARIABLES = frozenset({"profile_name", "menu"})


def read_responses(
    reader: Reader, node: yaml.Node | None, what: str, local: set[str], action: str = ""
) -> tuple[Response, ...]:
    """One response or a list of them; `local` are the variables only these may use."""
    one = isinstance(node, yaml.ScalarNode | yaml.MappingNode)
    items = [node] if one else reader.sequence(node, what)
    return tuple(read_response(reader, item, what, local, action) for item in items)


def read_response(
    reader: Reader, item: yaml.Node, what: str, local: set[str], action: str
) -> Response:
    """One variant: a text, or a mapping with `text` and/or `media` (http(s) URLs)."""
    if isinstance(item, yaml.MappingNode):
        fields = reader.mapping(item, what, {"text", "media"})
        texts = reader.strings(fields["text"], f"{what} text") if "text" in fields else []
        media = reader.strings(fields.get("media"), f"{what} media")
        for url, url_node in media:
            if not url.startswith(("https://", "http://")):
                reader.problem(url_node, f"{what} media: '{url}' is not an http(s) URL")
        if not texts and not media:
            reader.problem(item, f"{what}: a response needs 'text' or 'media'")
    else:
        texts, media = reader.strings(item, what), []
    for text, text_node in texts:
        check_template(reader, text, text_node, what, local, action)
    return Response(texts[0][0] if texts else "", tuple(url for url, _ in media))


def check_template(
    reader: Reader, text: str, node: yaml.Node, what: str, local: set[str], action: str
) -> None:
    """Check, once every file is read, that each variable in `text` will have a value."""
    names = set(TEMPLATE_VARIABLE.findall(text)) - BUILTIN_VARIABLES - local
    if not names:
        return

    def run(rules: RuleSet, actions: Mapping[str, frozenset[str]]) -> str | None:
        known = (
            BUILTIN_VARIABLES | local | rules.memory_variables | actions.get(action, frozenset())
        )
        unknown = sorted(names - known)
        if unknown:
            return f"{what}: unknown template variable '{{{unknown[0]}}}' (known: {', '.join(sorted(known))})"
        return None

    reader.check_later(node, run)
