"""`manage.py simulator whatsapp_evolution`: an Evolution API v2 simulator in the foreground,
sandbox mode (integrations.base: a provider's simulator module).

    manage.py simulator whatsapp_evolution [--port 8082] [--api-key KEY] [--instance NAME
        --token T --webhook-url URL --webhook-secret S [--paired PHONE]] [--status-delay 0.05]
        [--no-statuses] [--quiet] [--check] [--sandbox-channels]

Connect a channel of kind whatsapp_evolution with "your own server" set to this simulator's
address and API key (or point the installation at it: EVOLUTION_API_URL, EVOLUTION_API_KEY),
then pair it from here (POST /_sim/scan). `--sandbox-channels` serves this installation's
sandbox channels (the demo's) as instances already paired. `--check` starts it, prints the
instructions and stops (a smoke test of the port and the options).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from integrations.evolution.simulator.server import DEFAULT_API_KEY, DEFAULT_STATUS_PROGRESSION, EvolutionSimulator
from integrations.evolution.simulator.wire import SimulatorError
from integrations.simulators import simulator_serve

HELP = "Run a local Evolution API (WhatsApp by QR code) simulator until Ctrl-C (sandbox mode)."


def _positive(value: str) -> float:
    number = float(value)
    if number < 0:
        raise ValueError(value)
    return number


def sandbox_channels() -> list[Any]:
    """This installation's Evolution channels in sandbox mode (config "sandbox": true)."""
    from channels_app.models import Channel
    from integrations.evolution.adapter import WhatsAppEvolutionAdapter

    return list(Channel.all_objects.filter(kind=WhatsAppEvolutionAdapter.kind, config__sandbox=True,
                                           archived_at__isnull=True).order_by("pk"))


def simulator_from_options(options: dict[str, Any]) -> EvolutionSimulator:
    """A simulator (not started) with the instances the options describe."""
    from integrations.evolution.adapter import SECRET_HEADER
    from integrations.evolution.events import SUBSCRIBED

    simulator = EvolutionSimulator(
        host=options["host"], port=options["port"], api_key=options["api_key"],
        status_progression=() if options["no_statuses"] else DEFAULT_STATUS_PROGRESSION,
        status_delay=options["status_delay"])
    if options.get("sandbox_channels"):
        channels = sandbox_channels()
        if not channels:
            raise SimulatorError("No sandbox Evolution channel here (config \"sandbox\": true); run seed_demo first.")
        for channel in channels:
            simulator.add_instance(
                str(channel.config.get("instance", "")), token=str(channel.credentials.get("instance_token", "")),
                webhook_url=channel.webhook_url, state="open", phone=str(channel.config.get("phone", "")),
                webhook_headers={SECRET_HEADER: str(channel.credentials.get("webhook_secret", "")),
                                 "Content-Type": "application/json"}, events=SUBSCRIBED)
    elif options.get("instance"):
        headers = {SECRET_HEADER: options["webhook_secret"]} if options.get("webhook_secret") else {}
        simulator.add_instance(options["instance"], token=options.get("token"), webhook_url=options.get("webhook_url"),
                               webhook_headers=headers, state="open" if options.get("paired") else "close",
                               phone=options.get("paired") or "", events=SUBSCRIBED)
    return simulator


def usage(simulator: EvolutionSimulator) -> str:
    base = simulator.base_url
    lines = [
        f"Evolution API simulator on {base}.",
        "",
        f"  As this installation's server:  EVOLUTION_API_URL={base} EVOLUTION_API_KEY={simulator.api_key}",
        f"  Or, connecting a channel:       your own server {base}, API key {simulator.api_key}",
        f"  Receipts after each send:       {' → '.join(simulator.status_progression) or 'off'}",
        "",
    ]
    for instance in simulator.instances.values():
        lines.append(f"  Instance {instance.name}: {instance.state}{' as +' + instance.phone if instance.phone else ''}"
                     f", token {instance.token}, webhooks to {instance.webhook.get('url') or 'nowhere yet'}")
    name = next(iter(simulator.instances), "<instance>")
    lines += [
        "",
        "  Pair the phone (the QR code was scanned):",
        f"    curl -s {base}/_sim/scan -d '{{\"instance\":\"{name}\",\"phone\":\"5511987654321\"}}'",
        "  A customer writes in (\"type\":\"image\" for a photo; \"lid\", \"group\", \"from_me\", \"duplicate\"):",
        f"    curl -s {base}/_sim/inbound -d '{{\"instance\":\"{name}\",\"from\":\"5511912345678\",\"name\":\"Maria\","
        "\"text\":\"Oi!\"}'",
        "  Make the next request fail, or a number have no WhatsApp:",
        f"    curl -s {base}/_sim/failures -d '{{\"status\":503,\"path\":\"/message/\"}}'",
        f"    curl -s {base}/_sim/not-on-whatsapp -d '{{\"numbers\":[\"5511900000000\"]}}'",
        "  A new QR code, the QR codes running out, the phone logging out:",
        f"    POST {base}/_sim/qr, /_sim/qr/expire, /_sim/close  ({{\"instance\":\"{name}\"}})",
        "  Inspect and reset: GET /_sim/instances, /_sim/sent, /_sim/webhooks; POST /_sim/reset, /_sim/config",
        "  ({\"license_required\":true} answers as an Evolution 2.4 server whose licence is not activated).",
    ]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default 127.0.0.1).")
    parser.add_argument("--port", type=int, default=8082, help="Port to listen on (default 8082; 0: any free).")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="The global API key (creating instances).")
    parser.add_argument("--instance", default=None, help="An instance that exists from the start.")
    parser.add_argument("--token", default=None, help="Its token (default: a new one).")
    parser.add_argument("--webhook-url", default=None, help="Its webhook URL (the channel's webhook URL).")
    parser.add_argument("--webhook-secret", default=None, help="The channel's webhook secret, sent in its header.")
    parser.add_argument("--paired", default=None, metavar="PHONE", help="Start it paired with this phone number.")
    parser.add_argument("--status-delay", type=_positive, default=0.05,
                        help="Seconds between a send and each of its receipts.")
    parser.add_argument("--no-statuses", action="store_true", help="Post no receipts for sends.")
    parser.add_argument("--quiet", action="store_true", help="Do not print each send and webhook.")
    parser.add_argument("--check", action="store_true", help="Start, print the instructions and stop.")
    parser.add_argument("--sandbox-channels", action="store_true",
                        help="Serve every sandbox Evolution channel of this installation (the demo's), paired.")


def run(options: dict[str, Any], write: Callable[[str], Any]) -> None:
    """Serve until Ctrl-C or SIGTERM (or, with --check, print the instructions and stop).
    Raises SimulatorError when it cannot start."""
    simulator = simulator_from_options(options)
    simulator_serve(simulator, options, write, usage=lambda: usage(simulator), on_event=_event_line,
                    summary=lambda: f"{len(simulator.sent)} sends accepted, {len(simulator.webhook_log)} webhooks "
                                    f"posted.", error=SimulatorError)


def _event_line(event: str, data: dict[str, Any]) -> str | None:
    if event == "send":
        return f"send   {data['type']:<16} to {data['to']} → {data['id']}"
    elif event == "webhook":
        answer = data["http_status"] if data["http_status"] is not None else data["error"]
        return f"hook   {data['event']:<18} attempt {data['attempt']} → {answer}"

    return None
