"""The control endpoints under /_sim/: over HTTP, what `EvolutionSimulator`'s methods do, for a
simulator that lives in another process (`manage.py simulator whatsapp_evolution`)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .wire import Response, SimulatorError, digits, json_response

if TYPE_CHECKING:
    from .server import EvolutionSimulator


def control_response(simulator: EvolutionSimulator, method: str, segments: list[str], query: Mapping[str, str],
                     raw: bytes) -> Response:
    """The answer to `method /_sim/<segments>`; every body is a JSON object."""
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return json_response(400, {"error": "The body must be JSON."})
    if not isinstance(data, dict):
        return json_response(400, {"error": "The body must be a JSON object."})
    route = (method, "/".join(segments))
    offset = int(query.get("offset") or 0)
    try:
        if route == ("GET", "health"):
            return json_response(200, {"ok": True})
        if route == ("GET", "instances"):
            return json_response(200, {"data": [item.public() for item in simulator.instances.values()]})
        if route == ("POST", "instances"):
            instance = simulator.add_instance(
                str(data["name"]), token=data.get("token"), webhook_url=data.get("webhook_url"),
                webhook_headers=data.get("webhook_headers"), state=str(data.get("state") or "close"),
                phone=str(data.get("phone") or ""), webhook_base64=bool(data.get("webhook_base64")))
            return json_response(201, instance.public())
        if route == ("POST", "scan"):
            simulator.scan(str(data["instance"]), str(data.get("phone") or "15555550100"),
                           profile_name=str(data.get("profile_name") or "Inbox Test"))
            return json_response(200, {"success": True})
        if route == ("POST", "qr"):
            return json_response(200, {"code": simulator.refresh_qr(str(data["instance"]))})
        if route == ("POST", "qr/expire"):
            simulator.expire_qr(str(data["instance"]))
            return json_response(200, {"success": True})
        if route == ("POST", "close"):
            simulator.close(str(data["instance"]), int(data.get("reason") or 401))
            return json_response(200, {"success": True})
        if route == ("POST", "inbound"):
            return json_response(200, {"id": _inbound(simulator, data)})
        if route == ("POST", "statuses"):
            simulator.post_status(str(data["instance"]), str(data["id"]), str(data["status"]))
            return json_response(200, {"success": True})
        if route == ("POST", "failures"):
            rule = simulator.fail_next(int(data["status"]) if data.get("status") else None, data.get("body"),
                                       count=data.get("count", 1), path=str(data.get("path") or ""),
                                       hang_seconds=float(data.get("hang_seconds") or 0))
            return json_response(201, {"status": rule.status, "count": rule.count, "path": rule.path})
        if route in (("DELETE", "failures"), ("POST", "failures/clear")):
            simulator.clear_failures()
            return json_response(200, {"success": True})
        if route == ("POST", "not-on-whatsapp"):
            simulator.not_on_whatsapp.update(digits(str(number)) for number in data.get("numbers") or ())
            return json_response(200, {"numbers": sorted(simulator.not_on_whatsapp)})
        if route == ("POST", "config"):
            for name in ("keeps_messages", "license_required", "expose_apikey"):
                if name in data:
                    setattr(simulator, name, bool(data[name]))
            if "status_progression" in data:
                simulator.status_progression = [str(status) for status in data["status_progression"] or ()]
            if "status_delay" in data:
                simulator.status_delay = float(data["status_delay"])
            return json_response(200, {"status_progression": simulator.status_progression,
                                       "status_delay": simulator.status_delay,
                                       "keeps_messages": simulator.keeps_messages,
                                       "license_required": simulator.license_required})
        if route == ("GET", "sent"):
            return json_response(200, {"data": simulator.sent[offset:], "total": len(simulator.sent)})
        if route == ("GET", "webhooks"):
            log = simulator.webhooks()[offset:]
            return json_response(200, {"data": [{**entry, "body": entry["body"].decode("utf-8", "replace")}
                                                 for entry in log], "total": len(simulator.webhook_log)})
        if route == ("POST", "wait"):
            done = simulator.wait_for_webhooks(float(data.get("timeout", 5.0)))
            return json_response(200 if done else 504, {"done": done})
        if route == ("POST", "reset"):
            simulator.reset(instances=bool(data.get("instances")))
            return json_response(200, {"success": True})
    except (SimulatorError, KeyError, TypeError, ValueError) as problem:
        return json_response(400, {"error": f"{type(problem).__name__}: {problem}"})
    return json_response(404, {"error": f"No simulator endpoint {method} /_sim/{'/'.join(segments)}."})


def _inbound(simulator: EvolutionSimulator, data: Mapping[str, Any]) -> str:
    """{"instance", "type": "text"|"image"|"raw", "from", "text", "name", "lid", "group", "quoted_id",
    "from_me", "caption", "content_base64", "mime_type", "data" (raw), "duplicate", "lost" (kept by
    the server, its webhook never delivered)}."""
    name = str(data["instance"])
    duplicate, lost = bool(data.get("duplicate")), bool(data.get("lost"))
    kind = data.get("type", "text")
    if kind == "raw":
        return simulator.inbound_message(name, data["data"], duplicate=duplicate, lost=lost)
    if kind == "image":
        content = base64.b64decode(data["content_base64"]) if data.get("content_base64") else None
        return simulator.inbound_image(name, str(data.get("from") or "15555550123"), caption=data.get("caption"),
                                       content=content, mime_type=str(data.get("mime_type") or "image/png"),
                                       push_name=str(data.get("name") or "Maria"), message_id=data.get("message_id"),
                                       duplicate=duplicate, lost=lost)
    return simulator.inbound_text(name, str(data.get("from") or "15555550123"), str(data.get("text") or "Hello"),
                                  push_name=str(data.get("name") or "Maria"), message_id=data.get("message_id"),
                                  lid=data.get("lid"), lid_addressed=bool(data.get("lid_addressed")),
                                  quoted_id=data.get("quoted_id"), group=data.get("group"),
                                  from_me=bool(data.get("from_me")), duplicate=duplicate, lost=lost)
