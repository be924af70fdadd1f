"""A local stand-in for an Evolution API v2 server (the subset the inbox uses).

It keeps instances (create answers a `hash` token; the global API key is checked for create,
an instance's token or the global key for the rest, refusals in Evolution's 401 body), serves
QR codes (`code` and a small fixed PNG: the inbox draws its own from `code`), pairs a phone on
demand (`scan`), answers sends with Evolution's bodies and then posts their echo (send.message)
and receipts (messages.update DELIVERY_ACK, READ), posts customers' messages on demand in
Evolution's exact shapes (messages.upsert), what it says of contacts and groups (contacts.update,
groups.update; the groups it knows answer /group/findGroupInfos), keeps the messages it received
and sent for /chat/findMessages (and loses a message's webhook on demand, `lost=True`: what a
disconnection costs), with each instance's configured webhook headers
(and its JWT mode), and fails on demand (`fail_next`, numbers not on WhatsApp, Evolution 2.4's
licence gate).

    with EvolutionSimulator(api_key="GLOBAL") as sim:
        # EVOLUTION_API_URL = sim.base_url, EVOLUTION_API_KEY = "GLOBAL"; connect a channel, then
        sim.scan("acme-whatsapp", phone="5511987654321")
        sim.inbound_text("acme-whatsapp", "5511912345678", "Oi, tudo bem?")
        sim.fail_next(503)

`manage.py simulator whatsapp_evolution` runs one in the foreground; the control endpoints under
/_sim/ do over HTTP what the methods do here, for a simulator that lives in another process.

The modules: `wire` (Evolution's bodies and shapes), `server` (the HTTP server, instances and
webhook delivery), `control` (the /_sim/ endpoints), `command` (the management entry)."""

from .server import DEFAULT_API_KEY, DEFAULT_STATUS_PROGRESSION, EvolutionSimulator, FailureRule, SimulatedInstance
from .wire import LICENSE_REQUIRED_BODY, SimulatorError

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_STATUS_PROGRESSION",
    "LICENSE_REQUIRED_BODY",
    "EvolutionSimulator",
    "FailureRule",
    "SimulatedInstance",
    "SimulatorError",
]
