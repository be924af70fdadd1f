"""How the reports' figures are shown: the page's charts (drawn on the server, config.charts) and
the CSV export (streamed, a table at a time, cells that a spreadsheet never runs as formulas)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.utils import formats, timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.charts import LineSeries, Series, bars, heat_map, lines
from conversations.reports.figures import Figures, Report, Row

TABLES = {"series": gettext_lazy("By period"), "channels": gettext_lazy("By channel"),
          "teams": gettext_lazy("By team"), "agents": gettext_lazy("By agent"), "labels": gettext_lazy("By label")}


def weekday_names() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def report_charts(report: Report) -> dict[str, SafeString]:
    starts = [bucket.start for bucket in report.series]
    figures = [bucket.figures for bucket in report.series]
    group = report.filters.group
    return {
        "conversations": bars(title=_("Conversations"), starts=starts, bucket=group, series=[
            Series(_("opened"), "chart-in", [one.opened for one in figures]),
            Series(_("resolved"), "chart-out", [one.resolved for one in figures])]),
        "messages": bars(title=_("Messages"), starts=starts, bucket=group, series=[
            Series(_("in"), "chart-in", [one.messages_in for one in figures]),
            Series(_("out"), "chart-out", [one.messages_out for one in figures])]),
        "first_response": lines(title=_("First response time (minutes)"), starts=starts, bucket=group, unit=" min",
                                series=[
            LineSeries(_("median"), "chart-in", [_minutes(one.times.first_response_median) for one in figures]),
            LineSeries(_("90th percentile"), "chart-out", [_minutes(one.times.first_response_p90)
                                                           for one in figures])]),
        "resolution": lines(title=_("Resolution time (minutes)"), starts=starts, bucket=group, unit=" min", series=[
            LineSeries(_("median"), "chart-in", [_minutes(one.times.resolution_median) for one in figures]),
            LineSeries(_("90th percentile"), "chart-out", [_minutes(one.times.resolution_p90) for one in figures])]),
        "busiest_hours": heat_map(title=_("Messages in by weekday and hour"), rows=weekday_names(),
                                  columns=[f"{hour:02d}h" for hour in range(24)], values=report.busiest_hours),
    }


# --- CSV ------------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _seconds(value: float | None) -> str:
    return "" if value is None else str(round(value))


def _figures(figures: Figures) -> list[str]:
    times = figures.times
    return [str(figures.opened), str(figures.resolved), str(figures.messages_in), str(figures.messages_out),
            _seconds(times.first_response_median), _seconds(times.first_response_p90),
            _seconds(times.resolution_median), _seconds(times.resolution_p90)]


def report_csv_name(report: Report, table: str) -> str:
    return f"report-{table}-{report.filters.start.isoformat()}-{report.filters.end.isoformat()}.csv"


def report_csv(report: Report, table: str) -> Iterator[str]:
    """The lines of one table of the report (TABLES) as CSV, with a header; times in seconds."""
    writer = csv.writer(_Echo())
    figures_header = [_("Conversations opened"), _("Conversations resolved"), _("Messages in"), _("Messages out"),
                      _("First response, median (s)"), _("First response, 90th percentile (s)"),
                      _("Resolution, median (s)"), _("Resolution, 90th percentile (s)")]
    if table == "series":
        yield writer.writerow([_("Period start"), *figures_header])
        for bucket in report.series:
            local = timezone.localtime(bucket.start, timezone.get_current_timezone())
            yield writer.writerow([formats.date_format(local, "Y-m-d"), *_figures(bucket.figures)])
        return
    rows: list[Row] = getattr(report, table)
    yield writer.writerow([_("Id"), _("Name"), *figures_header])
    for row in rows:
        yield writer.writerow([str(row.id or ""), _cell(row.name), *_figures(row.figures)])


def report_table_rows(report: Report, table: str) -> Any:
    return report.series if table == "series" else getattr(report, table)
