"""What the bot says: templates filled with slot values and variables, the variant chosen
among a response's alternatives, and the variables a message brings (the profile name, the
kind of media, a shared location)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from conversation import Message
from conversation.message import printable
from rules import Response
from rules.loader import TEMPLATE_VARIABLE


def choose(
    responses: tuple[Response, ...], values: Mapping[str, str], rng: random.Random
) -> Response | None:
    """A random variant among the most specific ones whose variables are all known:
    "{amount} {from} = {result} {to}" wins over "1 {from} = {rate} {to}" when the amount
    is known, and a greeting by `{name}` over one by `{profile_name}`."""
    usable = []
    for response in responses:
        names = set(TEMPLATE_VARIABLE.findall(response.text))
        if names <= values.keys():
            usable.append((len(names - {"profile_name", "menu"}), response))
    if not usable:
        return None
    most = max(count for count, _ in usable)
    return rng.choice([r for count, r in usable if count == most])


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Fill `{name}` placeholders (a slot's value as `slot_text` says it); `{{` and `}}`
    stand for literal braces. A value is echoed without control or bidi characters, whoever
    wrote it (the user, a web page's title, an API's answer); the rule author's own text is
    kept as written."""
    filled = TEMPLATE_VARIABLE.sub(
        lambda m: printable(slot_text(variables[m[1]])) if m[1] in variables else m[0], template
    )
    return filled.replace("{{", "{").replace("}}", "}")


def slot_text(value: Any) -> str:
    """A slot's value as a reply says it: a place by its name, a date as the user wrote
    it, an amount with at most two decimals."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("name") or value.get("text") or "")
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def _media_kind(content_type: str) -> str:
    """What WhatsApp calls an attachment of this type: stickers are WebP images, voice
    notes are audio, contacts are vCards, and everything else with a type is a document."""
    content_type = content_type.split(";", 1)[0].strip().lower()
    if content_type == "image/webp":
        return "sticker"
    if content_type in {"text/vcard", "text/x-vcard"}:
        return "contact"
    kind = content_type.split("/", 1)[0]
    named = {"image": "photo", "video": "video", "audio": "voice note"}
    return named.get(kind, "document" if "/" in content_type else "file")


def _media_description(media) -> str:
    """ "photo", or "2 photos", or "photo and document" for what arrived in one message."""
    kinds = [_media_kind(m.content_type) for m in media]
    if len(set(kinds)) == 1:
        return kinds[0] if len(kinds) == 1 else f"{len(kinds)} {kinds[0]}s"
    return ", ".join(kinds[:-1]) + " and " + kinds[-1]


def message_variables(message: Message) -> dict[str, str]:
    """The variables a message brings to every template: the sender's name, what they sent."""
    variables = {"profile_name": message.profile_name.strip() or "there"}
    if message.media:
        variables["media_kind"] = _media_description(message.media)
    if message.location is not None:
        loc = message.location
        variables["latitude"] = f"{loc.latitude:.5f}"
        variables["longitude"] = f"{loc.longitude:.5f}"
        variables["place"] = loc.label or loc.address or f"{loc.latitude:.4f}, {loc.longitude:.4f}"
    return variables
