"""Recompute the reports' rows from the stored history (messages, the event log's status
changes): for a tenant that had conversations before its figures were kept, or after a fault."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations.reports.aggregates import report_rebuild, report_tables_analyze
from tenants.models import Tenant


class Command(BaseCommand):
    help = ("Rebuild the reports' figures from the messages and the event log, for every tenant or one "
            "(--tenant slug), from a day on (--since YYYY-MM-DD, the tenant's time zone) or entirely.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="The tenant's slug (default: every tenant).")
        parser.add_argument("--since", help="The first day to recompute, YYYY-MM-DD (default: all).")
        parser.add_argument("--batch-size", type=int, default=500, help="Conversations read at a time.")

    def handle(self, *args: Any, tenant: str | None = None, since: str | None = None, batch_size: int = 500,
               **options: Any) -> None:
        try:
            day = dt.date.fromisoformat(since) if since else None
        except ValueError as error:
            raise CommandError("--since takes a date as YYYY-MM-DD.") from error
        tenants = Tenant.objects.order_by("pk")
        if tenant:
            tenants = tenants.filter(slug=tenant)
            if not tenants.exists():
                raise CommandError(f"No tenant with the slug {tenant!r}.")
        for one in tenants:
            start = (dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(one.time_zone)) if day else None)
            count = report_rebuild(tenant=one, since=start, batch_size=batch_size)
            self.stdout.write(f"{one.slug}: {count} conversations replayed.")
        # The planner's statistics for the rows just written: without them PostgreSQL guessed a few
        # rows in tables of millions and chose plans that spilled to disk (the reports page).
        report_tables_analyze()
