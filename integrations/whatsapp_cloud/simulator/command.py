"""`manage.py simulator whatsapp_cloud`: the WhatsApp Cloud API (Graph) simulator in the
foreground, sandbox mode (integrations.base: a provider's simulator module).

    manage.py simulator whatsapp_cloud [--port 8081] [--webhook-url URL] [--phone-number-id ID]
        [--waba-id ID] [--token T] [--app-secret S] [--throughput 80] [--status-delay 0.05]
        [--no-statuses] [--quiet] [--check] [--sandbox-channels]

Point the inbox at it with WHATSAPP_GRAPH_API_URL=http://127.0.0.1:8081 and give the WhatsApp
channel the same phone number id, WABA id, token and app secret, or serve this installation's
sandbox channels (`--sandbox-channels`). `--check` starts it, prints the instructions and stops
(a smoke test of the port and the options).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from integrations.simulators import simulator_serve
from integrations.whatsapp_cloud.simulator.errors import SimulatorError
from integrations.whatsapp_cloud.simulator.server import GraphSimulator
from integrations.whatsapp_cloud.simulator.state import DEFAULT_STATUS_PROGRESSION

HELP = "Run a local WhatsApp Cloud API (Graph) simulator until Ctrl-C (sandbox mode)."
DEFAULT_PHONE_NUMBER_ID = "100000000000002"
DEFAULT_WABA_ID = "100000000000001"
DEFAULT_TOKEN = "SIMULATOR_ACCESS_TOKEN"
DEFAULT_APP_SECRET = "SIMULATOR_APP_SECRET"


def _positive(value: str) -> float:
    number = float(value)
    if number < 0:
        raise ValueError(value)
    return number


def simulator_from_options(options: dict[str, Any]) -> GraphSimulator:
    """A simulator (not started) with the one number the options describe."""
    simulator = GraphSimulator(
        host=options["host"], port=options["port"], version=options["graph_version"],
        status_progression=() if options["no_statuses"] else DEFAULT_STATUS_PROGRESSION,
        status_delay=options["status_delay"],
    )
    if options.get("sandbox_channels"):
        channels = sandbox_channels()
        if not channels:
            raise SimulatorError("No sandbox WhatsApp channel here (config \"sandbox\": true); run seed_demo first.")
        for channel in channels:
            simulator.add_number(
                str(channel.config["phone_number_id"]), token=channel.credentials.get("access_token", ""),
                app_secret=channel.credentials.get("app_secret", ""), waba_id=str(channel.config.get("waba_id", "")),
                webhook_url=channel.webhook_url,
                display_phone_number=channel.config.get("display_phone_number", "+15555550100"),
                verified_name=channel.config.get("verified_name", channel.name),
                throughput_per_second=options["throughput"],
            )
        return simulator
    simulator.add_number(
        options["phone_number_id"], token=options["token"], app_secret=options["app_secret"],
        waba_id=options["waba_id"], webhook_url=options["webhook_url"],
        display_phone_number=options["display_phone_number"], verified_name=options["verified_name"],
        throughput_per_second=options["throughput"],
    )
    return simulator


def sandbox_channels() -> list[Any]:
    """This installation's WhatsApp channels in sandbox mode (the demo's, or any an admin
    marked with config "sandbox": true)."""
    from channels_app.models import Channel
    from integrations.whatsapp_cloud.adapter import WhatsAppCloudAdapter

    return list(Channel.all_objects.filter(kind=WhatsAppCloudAdapter.kind, config__sandbox=True,
                                           archived_at__isnull=True).order_by("pk"))


def usage(simulator: GraphSimulator) -> str:
    numbers = list(simulator.numbers.values())
    number = numbers[0]
    also = [f"  Also serving number {other.phone_number_id} (WABA {other.waba_id}) → {other.webhook_url}"
            for other in numbers[1:]]
    base = simulator.base_url
    send = ('{"messaging_product":"whatsapp","to":"+15555550123","type":"text",'
            '"text":{"body":"Hello from the inbox"}}')
    return "\n".join([
        f"WhatsApp Cloud API simulator on {base} (Graph {simulator.version}).",
        "",
        f"  Point the inbox at it:  WHATSAPP_GRAPH_API_URL={base}",
        f"  Phone number id:        {number.phone_number_id}   WABA id: {number.waba_id}",
        f"  Access token:           {number.token}",
        f"  App secret:             {number.app_secret}",
        f"  Throughput cap:         {number.throughput_per_second:g} messages/s (then 130429)",
        f"  Webhooks go to:         {number.webhook_url or 'nowhere yet: restart with --webhook-url <the channel webhook URL>'}",
        f"  Status progression:     {' → '.join(simulator.status_progression) or 'off'}",
        "",
        "  Send as the inbox does:",
        f"    curl -s {simulator.graph_url}/{number.phone_number_id}/messages -H 'Authorization: Bearer {number.token}' "
        f"-H 'Content-Type: application/json' -d '{send}'",
        "  A customer writes in (text; or \"type\":\"image\"; \"duplicate\":true posts it twice):",
        f"    curl -s {base}/_sim/inbound -d '{{\"phone_number_id\":\"{number.phone_number_id}\",\"from\":\"5511987654321\","
        f"\"name\":\"Maria\",\"text\":\"Oi!\"}}'",
        "  Make the next send fail (any Meta code; \"async\":true accepts it then reports it failed;",
        "  \"http_status\":503 or \"hang_seconds\":30 for outages; \"count\", \"recipient\" to narrow it):",
        f"    curl -s {base}/_sim/failures -d '{{\"code\":131047,\"async\":true}}'",
        "  Answer sends late (each is accepted and sent at once, its answer held that long; 0 stops it):",
        f"    curl -s {base}/_sim/hold -d '{{\"seconds\":30}}'",
        "  Inspect and reset: GET /_sim/sent, /_sim/webhooks, /_sim/stats, /_sim/failures; POST /_sim/reset,",
        "  /_sim/config ({\"status_delay\":1,\"status_progression\":[\"sent\",\"delivered\"]}), /_sim/numbers, /_sim/templates.",
        *also,
    ])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default 127.0.0.1).")
    parser.add_argument("--port", type=int, default=8081, help="Port to listen on (default 8081; 0: any free).")
    parser.add_argument("--graph-version", default="v21.0",
                        help="Graph API version used in the URLs it prints (every vNN.N is served).")
    parser.add_argument("--phone-number-id", default=DEFAULT_PHONE_NUMBER_ID)
    parser.add_argument("--waba-id", default=DEFAULT_WABA_ID, help="WhatsApp Business Account id.")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="The access token the inbox must send.")
    parser.add_argument("--app-secret", default=DEFAULT_APP_SECRET, help="Signs the webhooks it posts.")
    parser.add_argument("--webhook-url", default=None,
                        help="Where statuses and inbound messages are posted (the channel's webhook URL).")
    parser.add_argument("--display-phone-number", default="+15555550100")
    parser.add_argument("--verified-name", default="Inbox Test")
    parser.add_argument("--throughput", type=_positive, default=80,
                        help="Messages per second before 130429 (default 80; 0: no cap).")
    parser.add_argument("--status-delay", type=_positive, default=0.05,
                        help="Seconds between a send and each of its sent/delivered/read webhooks.")
    parser.add_argument("--no-statuses", action="store_true", help="Post no status webhooks for sends.")
    parser.add_argument("--quiet", action="store_true", help="Do not print each send and webhook.")
    parser.add_argument("--check", action="store_true", help="Start, print the instructions and stop.")
    parser.add_argument("--sandbox-channels", action="store_true",
                        help="Serve every sandbox WhatsApp channel of this installation (the demo's), with its "
                             "own ids, token, app secret and webhook URL, instead of the number options.")


def run(options: dict[str, Any], write: Callable[[str], Any]) -> None:
    """Serve until Ctrl-C or SIGTERM (or, with --check, print the instructions and stop).
    Raises SimulatorError when it cannot start."""
    simulator = simulator_from_options(options)

    def summary() -> str:
        stats = simulator.stats()
        return (f"{stats['sends_accepted']} sends accepted, {stats['sends_rejected_cap']} over the cap, "
                f"{stats['webhooks_acknowledged']}/{stats['webhooks_posted']} webhooks acknowledged.")

    simulator_serve(simulator, options, write, usage=lambda: usage(simulator), on_event=_event_line,
                    summary=summary, error=SimulatorError)


def _event_line(event: str, data: dict[str, Any]) -> str | None:
    if event == "send":
        return f"send   {data['type']:<11} to {data['to']} → {data['wamid']}"
    elif event == "send_rejected":
        return f"send   rejected: {data['code']} (over the throughput cap) to {data['to']}"
    elif event == "read":
        return f"read   {data['message_id']}"
    elif event == "webhook":
        answer = data["http_status"] if data["http_status"] is not None else data["error"]
        return f"hook   {data['kind']:<16} attempt {data['attempt']} → {answer}"

    return None
