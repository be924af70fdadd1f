"""Load a large, realistic tenant fast (PostgreSQL only): conversations.scale."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations.scale import ScaleSeedError, scale_seed


class Command(BaseCommand):
    help = (
        "Load one large tenant for demos and the scale benchmark: members, channels, contacts, conversations and "
        "messages in Portuguese, with COPY and INSERT ... SELECT generate_series. PostgreSQL only. It drops and "
        "rebuilds the secondary indexes of the contacts, conversations and messages tables and locks them while it "
        "loads: for a database of its own, never a live one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--conversations", type=int, default=20_000)
        parser.add_argument("--messages", type=int, default=200_000)
        parser.add_argument("--slug", default="scale", help="The new tenant's slug (refused if it exists).")
        parser.add_argument("--seed", type=int, default=1, help="The random draw (the same seed, the same plan).")
        parser.add_argument("--password", default=None, help="The members' password (a random one by default).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = scale_seed(slug=options["slug"], conversations=options["conversations"],
                                messages=options["messages"], seed=options["seed"], password=options["password"],
                                say=self.stdout.write)
        except ScaleSeedError as error:
            raise CommandError(str(error)) from error
        counts = ", ".join(f"{value:,} {name}" for name, value in result.counts.items())
        self.stdout.write(self.style.SUCCESS(
            f"Loaded tenant {result.tenant.slug}: {counts} in {result.seconds['total']:.1f} s; "
            f"database {result.database_bytes / 1024 ** 3:.2f} GiB."))
        self.stdout.write(f"  Admin {result.admin.email}, agent {result.agent.email} (and agent2... agent20), "
                          f"password {result.password}")
        self.stdout.write(f"  The long conversation (its thread the longest): "
                          f"/inbox/c/{result.long_conversation.public_id}/")
