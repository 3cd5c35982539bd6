"""The overview's charts: pygal draws each one on the server as SVG, set inline in the page.

Every label is text in pygal's XML tree, so its serialiser escapes it: a user's message or an
intent name cannot become markup. Before it is serialised each chart loses its scripts
(pygal's tooltips and config; the page runs none of them) and its comments, and its `<style>`
gets the page's CSP nonce, the one inline style the page allows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pygal
from markupsafe import Markup
from pygal.style import Style

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#9aa5b1",
    colors=("#0b7a75", "#c2410c", "#6d28d9", "#2563eb", "#b45309", "#be123c", "#4d7c0f"),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    value_font_size=13,
    title_font_size=16,
)
WIDTH, HEIGHT = 480, 300  # the viewBox: the SVG scales to its box, phone or desktop


def _cleaner(nonce: str) -> Callable[[Any], Any]:
    """pygal's `xml_filters` hook: drop scripts and comments, put `nonce` on the style."""

    def clean(root: Any) -> Any:
        for parent in list(root.iter()):
            for child in list(parent):
                # A comment's tag is a function, not a name; a script's ends in "script".
                name = child.tag.rpartition("}")[2] if isinstance(child.tag, str) else ""
                if name in {"", "script"}:
                    parent.remove(child)
                elif name == "style":
                    child.set("nonce", nonce)
        return root

    return clean


def _render(chart: Any, nonce: str) -> Markup:
    chart.add_xml_filter(_cleaner(nonce))
    # Escaped by the XML serialiser; Markup only tells Jinja not to escape it twice.
    return Markup(chart.render(is_unicode=True))  # noqa: S704


def _config(title: str, **options: Any) -> dict[str, Any]:
    return {
        "title": title,
        "style": STYLE,
        "width": WIDTH,
        "height": HEIGHT,
        "js": [],
        "disable_xml_declaration": True,
        "show_legend": False,
        "no_data_text": "Nothing yet",
        **options,
    }


def whole_numbers(counts: Sequence[tuple[str, int]]) -> list[int]:
    """Y-axis marks for counts: whole numbers, about five of them."""
    top = max((count for _, count in counts), default=0)
    step = max(1, math.ceil(top / 5))
    return list(range(0, top + step, step))


def bars(title: str, counts: Sequence[tuple[str, int]], nonce: str, label_every: int = 1) -> Markup:
    """A bar chart of `counts` (label, number), in order; every `label_every`-th label shown."""
    options = {"y_labels": whole_numbers(counts), "truncate_label": -1}
    if label_every > 1:  # counted back from the last bar, which is now: always named
        major = [label for label, _ in counts][::-1][::label_every]
        options.update(x_labels_major=major, show_minor_x_labels=False)
    chart = pygal.Bar(**_config(title, **options))
    chart.x_labels = [label for label, _ in counts]
    chart.add(title, [count for _, count in counts])
    return _render(chart, nonce)


def ranked(title: str, counts: Sequence[tuple[str, int]], nonce: str) -> Markup:
    """A horizontal bar chart, the largest on top: for names (intents) that need room."""
    size = max(HEIGHT, 60 + 26 * len(counts))
    chart = pygal.HorizontalBar(
        **_config(title, height=size, print_values=True, y_labels=whole_numbers(counts))
    )
    chart.x_labels = [label for label, _ in reversed(counts)]
    chart.add(title, [count for _, count in reversed(counts)])
    return _render(chart, nonce)


def shares(title: str, counts: Sequence[tuple[str, int]], nonce: str) -> Markup:
    """A half pie of parts of a whole (delivery outcomes), with a legend naming each."""
    chart = pygal.Pie(**_config(title, half_pie=True, show_legend=True, legend_at_bottom=True))
    for label, count in counts:
        chart.add(label, count)
    return _render(chart, nonce)
