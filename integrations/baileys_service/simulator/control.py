"""The control endpoints under /_sim/: over HTTP, what `ConnectionServiceSimulator`'s methods
do, for a simulator that lives in another process (`manage.py simulator whatsapp_gateway`).
They need no key: the simulator listens on this machine only, by default."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from integrations.simulators import Response

from .wire import SimulatorError, _json

if TYPE_CHECKING:
    from .server import ConnectionServiceSimulator


def control_response(simulator: ConnectionServiceSimulator, method: str, segments: list[str],
                     body: bytes) -> Response:
    """The answer to `method /_sim/<segments>`; every body is a JSON object."""
    try:
        data = json.loads(body) if body.strip() else {}
    except ValueError:
        return _json(400, {"error": "The body must be JSON."})
    if not isinstance(data, dict):
        return _json(400, {"error": "The body must be a JSON object."})
    route = (method, "/".join(segments))
    try:
        if route == ("GET", "health"):
            return _json(200, {"ok": True})
        if route == ("GET", "sessions"):
            return _json(200, {"data": [session.public() for session in simulator.sessions.values()]})
        if route == ("POST", "sessions"):
            session = simulator.add_session(str(data["session"]), webhook_url=str(data.get("webhook_url") or ""),
                                            secret=str(data.get("secret") or ""),
                                            connected=bool(data.get("connected")), phone=str(data.get("phone") or ""))
            return _json(201, session.public())
        if route == ("POST", "scan"):
            simulator.scan(str(data["session"]), phone=str(data.get("phone") or "5511987654321"))
            return _json(200, simulator.session(str(data["session"])).public())
        if route == ("POST", "logout"):
            simulator.logout(str(data["session"]))
            return _json(200, {"success": True})
        if route == ("POST", "inbound"):
            return _json(200, {"id": _inbound(simulator, data)})
        if route == ("POST", "statuses"):
            simulator.post_status(str(data["session"]), str(data["id"]), int(data["status"]),
                                  to=str(data.get("to") or ""))
            return _json(200, {"success": True})
        if route == ("POST", "failures"):
            rule = simulator.fail_next(int(data["status"]), data.get("body"), count=int(data.get("count", 1)),
                                       operation=str(data.get("operation") or "send"),
                                       hang_seconds=float(data.get("hang_seconds") or 0))
            return _json(201, {"status": rule.status, "operation": rule.operation, "count": rule.count})
        if route == ("GET", "sent"):
            return _json(200, {"data": simulator.sent, "total": len(simulator.sent)})
        if route == ("GET", "webhooks"):
            return _json(200, {"data": [{**entry, "body": entry["body"].decode("utf-8", "replace")}
                                        for entry in simulator.webhook_log]})
        if route == ("GET", "stats"):
            return _json(200, simulator.stats())
        if route == ("POST", "wait"):
            done = simulator.wait_for_webhooks(float(data.get("timeout", 5.0)))
            return _json(200 if done else 504, {"done": done, **simulator.stats()})
        if route == ("POST", "reset"):
            simulator.reset()
            return _json(200, {"success": True})
    except (SimulatorError, KeyError, TypeError, ValueError) as exc:
        return _json(400, {"error": f"{type(exc).__name__}: {exc}"})
    return _json(404, {"error": f"No simulator endpoint {method} /_sim/{'/'.join(segments)}."})


def _inbound(simulator: ConnectionServiceSimulator, data: Mapping[str, Any]) -> str:
    fields = {name: data[name] for name in ("phone", "text", "name", "lid", "group", "message_id") if data.get(name)}
    return simulator.inbound_text(str(data["session"]), from_me=bool(data.get("from_me")),
                                  duplicate=bool(data.get("duplicate")), **{k: str(v) for k, v in fields.items()})
