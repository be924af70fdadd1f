"""Charts drawn on the server (the integrations health page, the reports), as inline SVG: no script, no chart library, nothing from a CDN,
and readable without JavaScript (each bar has its figures as a tooltip, the chart a text
alternative). Styled by static/settings/settings.css (classes only: the CSP allows no inline
style)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

WIDTH = 960
HEIGHT = 160
AXIS = 18  # the labels' band under the bars
TOP = 16  # the band above them (the scale's label)


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # chart-in, chart-out, chart-failed
    values: Sequence[int]


def bucket_label(start: dt.datetime, bucket: str) -> str:
    local = timezone.localtime(start)  # the tenant's (the page activates its time zone)
    if bucket == "day":
        return formats.date_format(local, "d/m")
    return formats.time_format(local, "H:i")


def bars(*, title: str, starts: Sequence[dt.datetime], bucket: str, series: Sequence[Series]) -> SafeString:
    """Grouped bars: for each bucket, one bar per series, scaled to the largest value."""
    count = len(starts)
    if not count:
        return SafeString("")
    top = max((max(one.values, default=0) for one in series), default=0) or 1
    group = WIDTH / count
    bar = max(group / (len(series) + 1), 1.0)
    plot = HEIGHT - AXIS - TOP
    rects = []
    for index, start in enumerate(starts):
        label = bucket_label(start, bucket)
        for position, one in enumerate(series):
            value = one.values[index]
            height = round(plot * value / top, 1)
            x = round(index * group + bar * (position + 0.5), 1)
            rects.append((one.css, x, round(TOP + plot - height, 1), round(bar, 1), height,
                          f"{label} · {one.name}: {value}"))
    ticks = sorted({0, count // 2, count - 1})
    anchors = {0: "start", count - 1: "end"}
    labels = [(round(min(max(index * group + group / 2, 0), WIDTH), 1) if index not in anchors
               else (0 if index == 0 else WIDTH), HEIGHT - 4, anchors.get(index, "middle"),
               bucket_label(starts[index], bucket)) for index in ticks]
    summary = "; ".join(f"{one.name}: {sum(one.values)}" for one in series)
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<title>{}</title>'
        '<line class="chart-axis" x1="0" y1="{}" x2="{}" y2="{}"></line>{}{}'
        '<text class="chart-max" x="2" y="12">{}</text></svg>',
        WIDTH, HEIGHT, f"{title}. {summary}", f"{title}. {summary}", TOP + plot, WIDTH, TOP + plot,
        format_html_join("", '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
                         rects),
        format_html_join("", '<text class="chart-label" x="{}" y="{}" text-anchor="{}">{}</text>', labels),
        _("max %(value)s") % {"value": top if top > 1 or any(any(one.values) for one in series) else 0})
