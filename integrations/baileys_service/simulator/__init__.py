"""A local stand-in for a connection service (the seeds' Baileys server): both path styles,
its key checked, sessions with a QR code, a simulated scan, sends answered and followed by
their receipts, inbound messages in the exact shape the service posts, and failures on demand.

    with ConnectionServiceSimulator(api_key="K") as sim:
        sim.add_session("inbox-1", webhook_url=channel.webhook_url, secret="S")
        # the channel's config: {"service_url": sim.base_url, "session_id": "inbox-1"}
        sim.scan("inbox-1", phone="5511987654321")
        sim.inbound_text("inbox-1", phone="5511987654321", text="Oi!")
        sim.fail_next(503)

`manage.py simulator whatsapp_gateway` runs one in the foreground; the control endpoints under
/_sim/ do over HTTP what the methods do here. Modules: `server` (the HTTP server and the
simulator), `control` (the /_sim/ endpoints), `command` (the management entry), `wire`.
"""

from .server import (
    DEFAULT_STATUS_PROGRESSION,
    TINY_QR_PNG,
    ConnectionServiceSimulator,
    FailureRule,
    SimulatedSession,
)
from .wire import SimulatorError

__all__ = [
    "DEFAULT_STATUS_PROGRESSION",
    "TINY_QR_PNG",
    "ConnectionServiceSimulator",
    "FailureRule",
    "SimulatedSession",
    "SimulatorError",
]
