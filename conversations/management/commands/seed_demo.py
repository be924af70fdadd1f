"""Seed two demo tenants (acme, globex) with members, channels, contacts and conversations."""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand

from config.public_url import public_base_url
from conversations.demo import DemoLogin, demo_seed

QUIET_LOGGERS = ("tenants.events", "celery.app.trace")


class Command(BaseCommand):
    help = (
        "Create demo data: tenants acme and globex with users of every role, channels, about 30 contacts and "
        "60 conversations each, and a platform superuser. Safe to run again: existing data is left as it is."
    )

    def handle(self, *args: Any, verbosity: int = 1, **options: Any) -> None:
        # Seeding publishes an event per change, and its listeners may run tasks: logging each
        # one would bury the summary.
        quiet = [logging.getLogger(name) for name in QUIET_LOGGERS] if verbosity < 2 else []
        levels = [logger.level for logger in quiet]
        for logger in quiet:
            logger.setLevel(logging.WARNING)
        try:
            result = demo_seed()
        finally:
            for logger, level in zip(quiet, levels, strict=True):
                logger.setLevel(level)

        if result.created:
            self.stdout.write(self.style.SUCCESS(f"Seeded demo tenants: {', '.join(result.created)}."))
        if result.existing:
            self.stdout.write(
                f"Demo data already exists for {', '.join(result.existing)}: left unchanged, nothing created."
            )
        if result.superuser_created:
            self.stdout.write(self.style.SUCCESS("Created the platform superuser."))
        self.stdout.write("")
        self.stdout.write(self._logins_table(result.logins))
        self.stdout.write("")
        for label, path in (("Inbox", "/"), ("Admin", "/admin/"), ("API docs", "/api/docs/")):
            self.stdout.write(f"  {label:<9} {public_base_url()}{path}")

    @staticmethod
    def _logins_table(logins: list[DemoLogin]) -> str:
        rows = [("Email", "Role", "Tenant", "Password")]
        rows += [(login.email, str(login.role), login.tenant or "(platform)", login.password) for login in logins]
        widths = [max(len(row[column]) for row in rows) for column in range(4)]
        lines = ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                 for row in rows]
        lines.insert(1, "  " + "  ".join("-" * width for width in widths))
        return "\n".join(lines)
