"""The kinds whose provider has a local simulator, one per line (make run starts each beside
the inbox for the demo's sandbox channels: manage.py simulator <kind> --sandbox-channels)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from integrations.registry import adapter_classes


class Command(BaseCommand):
    help = "List the channel kinds whose provider has a local simulator (manage.py simulator <kind>)."

    def handle(self, *args: Any, **options: Any) -> None:
        for kind, adapter in adapter_classes().items():
            if adapter.simulator:
                self.stdout.write(kind)
