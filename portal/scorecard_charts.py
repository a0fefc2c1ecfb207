"""Scorecard charts as SVG rendered on the server with pygal: no JavaScript, no request elsewhere.

Each chart is an accessible image (`role="img"`, labelled by its `<title>` and a `<desc>` that says
in words what it shows); the pages repeat the same figures in a table under it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pygal
from pygal.style import Style

from portal.scorecard_history import STATUS_COLUMNS

#: Status colours, as the portal's stylesheet paints the status badges (a little darker, for contrast).
STATUS_COLOURS: dict[str, str] = {
    "fresh": "#3b8f50", "due": "#d9a400", "overdue": "#e0702f", "delinquent": "#b3261e",
    "exempt": "#7b8494", "unknown": "#a9afbd", "unpublished": "#6c5a9c", "withdrawn": "#4b4b4b",
    "not-evaluated": "#d4d7de",
}

_BASE = {"font_family": "system-ui, sans-serif", "background": "transparent",
         "plot_background": "rgba(255, 255, 255, 1)", "foreground": "#1d2430",
         "foreground_strong": "#1d2430", "foreground_subtle": "#667"}


def _accessible(key: str, description: str) -> Callable[[Any], Any]:
    """An xml filter: role and labels on the root, a `<desc>` after the `<title>`, no scripts."""
    def apply(root: Any) -> Any:
        title = root.find("title")
        title.set("id", f"{key}-title")
        desc = root.makeelement("desc", {"id": f"{key}-desc"})
        desc.text = description
        root.insert(list(root).index(title) + 1, desc)
        root.set("role", "img")
        root.set("aria-labelledby", f"{key}-title {key}-desc")
        defs = root.find("defs")
        for script in defs.findall("script"):
            defs.remove(script)
        return root
    return apply


def _config(title: str, colours: Sequence[str]) -> dict[str, Any]:
    return {"title": title, "js": [], "disable_xml_declaration": True, "width": 720, "height": 320,
            "explicit_size": False, "legend_at_bottom": True, "x_label_rotation": 30,
            "style": Style(colors=tuple(colours), **_BASE)}


def share_chart(labels: Sequence[str], shares: Sequence[float | None], *, key: str = "share-chart") -> str:
    """A line of the share fresh (percent) at each point of the trend, as an SVG element."""
    said = "; ".join(f"{label}: {'no judged dataset' if share is None else f'{share:.1f} %'}"
                     for label, share in zip(labels, shares))
    chart = pygal.Line(**_config("Share of datasets fresh (%)", ["#14304f"]),
                       range=(0, 100), show_legend=False, allow_interruptions=True)
    chart.add_xml_filter(_accessible(key, f"Share of judged datasets that were fresh — {said}."))
    chart.x_labels = list(labels)
    chart.add("Share fresh (%)", list(shares))
    return str(chart.render(is_unicode=True))


def status_chart(labels: Sequence[str], counts: Sequence[dict[str, int]], *, key: str = "status-chart") -> str:
    """Stacked bars of how many datasets held each status at each point of the trend, as an SVG element."""
    shown = [s for s in STATUS_COLUMNS if any(point.get(s, 0) for point in counts)]
    said = "; ".join(f"{label}: " + (", ".join(f"{point[s]} {s}" for s in shown if point.get(s)) or "no dataset")
                     for label, point in zip(labels, counts))
    chart = pygal.StackedBar(**_config("Datasets by freshness status", [STATUS_COLOURS[s] for s in shown]))
    chart.add_xml_filter(_accessible(key, f"Datasets in each status — {said}."))
    chart.x_labels = list(labels)
    for status in shown:
        chart.add(status, [point.get(status, 0) for point in counts])
    return str(chart.render(is_unicode=True))
