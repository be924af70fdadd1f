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
    if bucket in ("day", "week"):
        return formats.date_format(local, "d/m")
    if bucket == "month":
        return formats.date_format(local, "m/Y")
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


def lines(*, title: str, starts: Sequence[dt.datetime], bucket: str, series: Sequence[LineSeries],
          unit: str = "") -> SafeString:
    """One line a series over the buckets, scaled to the largest value; a bucket without a value
    (None) breaks the line. Each point has its figure as a tooltip."""
    count = len(starts)
    if not count:
        return SafeString("")
    top = max((value for one in series for value in one.values if value is not None), default=0) or 1
    step = WIDTH / count
    plot = HEIGHT - AXIS - TOP
    paths, dots = [], []
    for one in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for index, value in enumerate(one.values):
            if value is None:
                runs.append([])
                continue
            x, y = round(index * step + step / 2, 1), round(TOP + plot - plot * value / top, 1)
            runs[-1].append((x, y))
            dots.append((one.css, x, y, f"{bucket_label(starts[index], bucket)} · {one.name}: "
                                        f"{_figure(value)}{unit}"))
        for run in runs:
            if run:
                paths.append((one.css, " ".join(f"{'M' if position == 0 else 'L'}{x} {y}"
                                                for position, (x, y) in enumerate(run))))
    ticks = sorted({0, count // 2, count - 1})
    anchors = {0: "start", count - 1: "end"}
    labels = [((0 if index == 0 else WIDTH) if index in anchors else round(index * step + step / 2, 1),
               HEIGHT - 4, anchors.get(index, "middle"), bucket_label(starts[index], bucket)) for index in ticks]
    described = f"{title}. " + "; ".join(
        f"{one.name}: {', '.join(_figure(value) if value is not None else '—' for value in one.values)}"
        for one in series)
    return format_html(
        '<svg class="chart chart-lines" viewBox="0 0 {} {}" role="img" aria-label="{}"><title>{}</title>'
        '<line class="chart-axis" x1="0" y1="{}" x2="{}" y2="{}"></line>{}{}{}'
        '<text class="chart-max" x="2" y="12">{}</text></svg>',
        WIDTH, HEIGHT, described, described, TOP + plot, WIDTH, TOP + plot,
        format_html_join("", '<path class="chart-line {}" d="{}"></path>', paths),
        format_html_join("", '<circle class="chart-dot {}" cx="{}" cy="{}" r="3"><title>{}</title></circle>', dots),
        format_html_join("", '<text class="chart-label" x="{}" y="{}" text-anchor="{}">{}</text>', labels),
        _("max %(value)s") % {"value": f"{_figure(top)}{unit}"})


@dataclass(frozen=True)
class LineSeries:
    name: str
    css: str
    values: Sequence[float | None]


def _figure(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


HEAT_LEVELS = 5


def heat_map(*, title: str, rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[int]]
             ) -> SafeString:
    """A grid (rows × columns) whose cells darken with their value, in HEAT_LEVELS steps
    (classes heat-0 ... heat-5: no inline style), each with its figure as a tooltip."""
    if not rows or not columns:
        return SafeString("")
    top = max((max(row, default=0) for row in values), default=0)
    left, cell_w, cell_h, head = 48, (WIDTH - 48) / len(columns), 22, 16
    height = head + cell_h * len(rows)
    cells = []
    for row_index, (name, row) in enumerate(zip(rows, values, strict=True)):
        for column_index, value in enumerate(row):
            level = 0 if not value or not top else max(1, round(HEAT_LEVELS * value / top))
            cells.append((f"heat-{level}", round(left + column_index * cell_w, 1), head + row_index * cell_h,
                          round(cell_w - 2, 1), cell_h - 2, f"{name} {columns[column_index]}: {value}"))
    row_labels = [(left - 6, head + index * cell_h + cell_h / 2 + 4, name) for index, name in enumerate(rows)]
    column_labels = [(round(left + index * cell_w + cell_w / 2, 1), 12, name) for index, name in enumerate(columns)
                     if index % 3 == 0]
    described = f"{title}. " + "; ".join(f"{name}: {sum(row)}" for name, row in zip(rows, values, strict=True))
    return format_html(
        '<svg class="chart chart-heat" viewBox="0 0 {} {}" role="img" aria-label="{}"><title>{}</title>{}{}{}</svg>',
        WIDTH, height, described, described,
        format_html_join("", '<rect class="heat {}" x="{}" y="{}" width="{}" height="{}" rx="2"><title>{}</title>'
                             '</rect>', cells),
        format_html_join("", '<text class="chart-label" x="{}" y="{}" text-anchor="end">{}</text>', row_labels),
        format_html_join("", '<text class="chart-label" x="{}" y="{}" text-anchor="middle">{}</text>',
                         column_labels))
