"""Run a provider's local simulator in the foreground, sandbox mode: try a channel before
having its provider's credentials, or point the inbox at it in a test.

    manage.py simulator <kind> [the kind's options]
    manage.py simulator <kind> --help

The kinds are those of the providers registry that have a simulator (integrations.base).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.registry import adapter_classes


def _simulators() -> dict[str, Any]:
    return {kind: import_module(adapter.simulator) for kind, adapter in adapter_classes().items() if adapter.simulator}


class Command(BaseCommand):
    help = "Run a provider's local simulator until Ctrl-C (sandbox mode): manage.py simulator <kind> [options]."

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND",
                                      help="The channel kind whose provider to simulate.")
        for kind, module in _simulators().items():
            module.add_arguments(kinds.add_parser(kind, help=module.HELP, description=module.HELP))

    def handle(self, *args: Any, **options: Any) -> None:
        module = _simulators()[options["kind"]]
        try:
            module.run(options, self.stdout.write)
        except ValueError as error:  # the simulator's own errors (bad options, a port in use)
            raise CommandError(str(error)) from None
