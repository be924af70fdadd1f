"""`manage.py simulator whatsapp_gateway`: the connection service simulator in the foreground,
sandbox mode (integrations.base: a provider's simulator module).

    manage.py simulator whatsapp_gateway [--port 8083] [--api-key K] [--auth-header either]
        [--session S --webhook-url URL --secret SECRET] [--connected-as 5511987654321]
        [--status-delay 0.5] [--no-statuses] [--sandbox-channels] [--quiet] [--check]

Give a channel its address (the channel's service address, or CONNECTION_SERVICE_URL) and its
key, and tell the simulator where that channel's webhooks go (its session id, webhook URL and
secret: the channel's setup steps), or serve this installation's sandbox channels
(`--sandbox-channels`, the demo's). `--check` starts it, prints the instructions and stops.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from integrations.simulators import simulator_serve

from .server import DEFAULT_STATUS_PROGRESSION, ConnectionServiceSimulator
from .wire import SimulatorError

HELP = "Run a local connection service (Baileys server) simulator until Ctrl-C (sandbox mode)."
DEFAULT_API_KEY = "SIMULATOR_API_KEY"


def _positive(value: str) -> float:
    number = float(value)
    if number < 0:
        raise ValueError(value)
    return number


def sandbox_channels() -> list[Any]:
    """This installation's connection service channels in sandbox mode (the demo's, or any an
    admin marked with config "sandbox": true)."""
    from channels_app.models import Channel
    from integrations.baileys_service.adapter import ConnectionServiceAdapter

    return list(Channel.all_objects.filter(kind=ConnectionServiceAdapter.kind, config__sandbox=True,
                                           archived_at__isnull=True).order_by("pk"))


def simulator_from_options(options: dict[str, Any]) -> ConnectionServiceSimulator:
    """A simulator (not started) with the sessions the options describe."""
    simulator = ConnectionServiceSimulator(
        host=options["host"], port=options["port"], api_key=options["api_key"], auth_header=options["auth_header"],
        status_progression=() if options["no_statuses"] else DEFAULT_STATUS_PROGRESSION,
        status_delay=options["status_delay"], webhook_url=options.get("webhook_url") or "",
        secret=options.get("secret") or "")
    if options.get("sandbox_channels"):
        channels = sandbox_channels()
        if not channels:
            raise SimulatorError("No sandbox connection service channel here (config \"sandbox\": true); run "
                                 "seed_demo first.")
        # One key for all of them (the demo's channels share theirs), whatever --api-key says.
        simulator.api_key = str(channels[0].credentials.get("api_key") or simulator.api_key)
        for channel in channels:
            simulator.add_session(str(channel.config.get("session_id") or ""), webhook_url=channel.webhook_url,
                                  secret=str(channel.credentials.get("webhook_secret") or ""), connected=True,
                                  phone=str(channel.config.get("phone") or "").lstrip("+"))
        return simulator
    if options.get("session"):
        simulator.add_session(options["session"], webhook_url=options.get("webhook_url") or "",
                              secret=options.get("secret") or "", connected=bool(options.get("connected_as")),
                              phone=options.get("connected_as") or "")
    return simulator


def usage(simulator: ConnectionServiceSimulator) -> str:
    base = simulator.base_url
    session = next(iter(simulator.sessions), "SESSION")
    lines = [
        f"Connection service simulator on {base} (paths /api/v1/... and /sessions/..., /message/send).",
        "",
        f"  A channel's service address:  {base}   (or CONNECTION_SERVICE_URL={base})",
        f"  API key:                      {simulator.api_key}  (as {simulator.auth_header})",
        f"  Receipts after a send:        {', '.join(map(str, simulator.status_progression)) or 'off'}",
        "",
        "  Sessions:",
        *[f"    {item.session_id}: {item.status}{' ' + item.phone if item.phone else ''} → "
          f"{item.webhook_url or simulator.webhook_url or 'no webhook URL: events are only logged'}"
          for item in simulator.sessions.values()],
        *([] if simulator.sessions else ["    none yet: the inbox starts them; tell the simulator where a session "
                                         "posts with POST /_sim/sessions"]),
        "",
        "  Where a session posts, and how it signs (the channel's setup steps):",
        f"    curl -s {base}/_sim/sessions -d '{{\"session\":\"{session}\",\"webhook_url\":\"URL\",\"secret\":\"S\"}}'",
        "  The phone scans the QR code:",
        f"    curl -s {base}/_sim/scan -d '{{\"session\":\"{session}\",\"phone\":\"5511987654321\"}}'",
        "  A customer writes in (\"lid\", \"group\", \"from_me\", \"duplicate\" too):",
        f"    curl -s {base}/_sim/inbound -d '{{\"session\":\"{session}\",\"phone\":\"5511987654321\","
        f"\"name\":\"Maria\",\"text\":\"Oi!\"}}'",
        "  Make the next send fail (\"operation\": start, status, delete or send; \"hang_seconds\" for a timeout):",
        f"    curl -s {base}/_sim/failures -d '{{\"status\":503}}'",
        "  Inspect and reset: GET /_sim/sessions, /_sim/sent, /_sim/webhooks, /_sim/stats; POST /_sim/logout, "
        "/_sim/reset.",
    ]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default 127.0.0.1).")
    parser.add_argument("--port", type=int, default=8083, help="Port to listen on (default 8083; 0: any free).")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="The key the inbox must send.")
    parser.add_argument("--auth-header", choices=("either", "bearer", "x-api-key"), default="either",
                        help="How the key must come: Authorization: Bearer, X-API-KEY, or either (default).")
    parser.add_argument("--session", default="", help="A session to know from the start (a channel's session id).")
    parser.add_argument("--webhook-url", default="", help="Where the sessions post their events (a channel's "
                                                          "webhook URL).")
    parser.add_argument("--secret", default="", help="The secret the events are signed with (the channel's).")
    parser.add_argument("--connected-as", default="", help="The --session is paired already, with this number.")
    parser.add_argument("--status-delay", type=_positive, default=0.5,
                        help="Seconds between a send and each of its receipts.")
    parser.add_argument("--no-statuses", action="store_true", help="Post no receipts for sends.")
    parser.add_argument("--sandbox-channels", action="store_true",
                        help="Serve every sandbox connection service channel of this installation (the demo's), "
                             "paired already, with its own session id, key, secret and webhook URL.")
    parser.add_argument("--quiet", action="store_true", help="Do not print each send and webhook.")
    parser.add_argument("--check", action="store_true", help="Start, print the instructions and stop.")


def run(options: dict[str, Any], write: Callable[[str], Any]) -> None:
    """Serve until Ctrl-C or SIGTERM (or, with --check, print the instructions and stop).
    Raises SimulatorError when it cannot start."""
    simulator = simulator_from_options(options)

    def summary() -> str:
        stats = simulator.stats()
        return f"{stats['sent']} sends, {stats['webhooks_acknowledged']}/{stats['webhooks_posted']} webhooks acknowledged."

    simulator_serve(simulator, options, write, usage=lambda: usage(simulator), on_event=_event_line,
                    summary=summary, error=SimulatorError)


def _event_line(event: str, data: dict[str, Any]) -> str | None:
    if event == "send":
        return f"send   {data['type']:<6} to {data['to']} → {data['messageId']}"
    elif event in ("start", "delete"):
        return f"{event:<6} session {data['session']}"
    elif event == "webhook":
        answer = data["http_status"] if data["http_status"] is not None else (data["error"] or "not posted")
        return f"hook   {data['event']:<15} {data['session']} → {answer}"

    return None
