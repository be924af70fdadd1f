"""A local stand-in for the WhatsApp Cloud (Graph) API subset the inbox uses.

It answers like Meta (the ids, bodies and error envelopes of the wire formats in
tests/fixtures/whatsapp-cloud/), enforces the per-number throughput cap with 130429, fails on
demand the ways Meta fails, and posts webhooks signed the way Meta signs them: the status
progression of everything it accepted, and inbound customer messages on demand.

    with GraphSimulator() as sim:
        sim.add_number("100000000000002", token="T", app_secret="S", waba_id="100000000000001",
                       webhook_url="http://127.0.0.1:8000/webhooks/whatsapp_cloud/<token>")
        # settings.WHATSAPP_GRAPH_API_URL = sim.base_url
        sim.fail_next(code=131056)
        sim.inbound_text("100000000000002", text="Oi, tudo bem?")

`manage.py simulator whatsapp_cloud` runs one in the foreground; the control endpoints under /_sim/ do
over HTTP what the methods do here, for a simulator that lives in another process.

The modules, by concern: `wire` (webhook bytes and signatures), `errors` (Meta's error catalogue),
`state` (numbers, failure rules, media, templates, pending deliveries), `validation` (Meta's checks
of a send body), `server` (the HTTP server and `GraphSimulator`) and `control` (the /_sim/ endpoints).
Import from this package: the names below are the ones that stay put.
"""

from .errors import SimulatorError, graph_error
from .server import GraphSimulator
from .state import DEFAULT_STATUS_PROGRESSION, DEFAULT_TEMPLATES, FailureRule, SimulatedNumber
from .wire import webhook_body, webhook_signature

__all__ = [
    "DEFAULT_STATUS_PROGRESSION",
    "DEFAULT_TEMPLATES",
    "FailureRule",
    "GraphSimulator",
    "SimulatedNumber",
    "SimulatorError",
    "graph_error",
    "webhook_body",
    "webhook_signature",
]
