"""The control endpoints under /_sim/: over HTTP, what `GraphSimulator`'s methods do, for a
simulator that lives in another process (`manage.py simulator whatsapp_cloud`)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import SimulatorError
from .state import FailureRule
from .wire import _json_response, _Response

if TYPE_CHECKING:
    from .server import GraphSimulator


def control_response(simulator: GraphSimulator, method: str, segments: list[str],
                     query: Mapping[str, list[str]], body: bytes) -> _Response:
    """The answer to `method /_sim/<segments>`; every body is a JSON object."""
    try:
        data = json.loads(body) if body.strip() else {}
    except ValueError:
        return _json_response(400, {"error": "The body must be JSON."})
    if not isinstance(data, dict):
        return _json_response(400, {"error": "The body must be a JSON object."})
    route = (method, "/".join(segments))
    offset = int((query.get("offset") or ["0"])[0] or 0)
    try:
        if route == ("GET", "health"):
            return _json_response(200, {"ok": True, "version": simulator.version})
        if route == ("GET", "numbers"):
            return _json_response(200, {"data": [n.public() for n in simulator.numbers.values()]})
        if route == ("POST", "numbers"):
            fields = {key: data[key] for key in ("token", "app_secret", "waba_id", "webhook_url",
                                                 "display_phone_number", "verified_name",
                                                 "throughput_per_second") if data.get(key) is not None}
            number = simulator.add_number(str(data.get("phone_number_id") or ""), **fields)
            return _json_response(201, number.public())
        if route == ("GET", "failures"):
            return _json_response(200, {"data": [rule.public() for rule in simulator.failures]})
        if route == ("POST", "failures"):
            return _json_response(201, _failure_from(simulator, data).public())
        if route in (("DELETE", "failures"), ("POST", "failures/clear")):
            simulator.clear_failures()
            return _json_response(200, {"success": True})
        if route == ("POST", "hold"):
            simulator.hold_sends(float(data["seconds"]))
            return _json_response(200, {"seconds": simulator.send_hold_seconds})
        if route == ("POST", "inbound"):
            return _json_response(200, _inbound_from(simulator, data))
        if route == ("POST", "statuses"):
            message_id = simulator.post_status(data.get("phone_number_id"), str(data["id"]), str(data["status"]),
                                               recipient_id=data.get("recipient_id"),
                                               error_code=data.get("error_code"),
                                               duplicate=bool(data.get("duplicate")))
            return _json_response(200, {"id": message_id})
        if route == ("POST", "templates"):
            simulator.set_templates(str(data["waba_id"]), data["templates"])
            return _json_response(200, {"success": True})
        if route == ("POST", "config"):
            return _json_response(200, _configure(simulator, data))
        if route == ("GET", "sent"):
            return _json_response(200, {"data": simulator.sent[offset:], "total": len(simulator.sent)})
        if route == ("GET", "reads"):
            return _json_response(200, {"data": simulator.read_receipts[offset:]})
        if route == ("GET", "webhooks"):
            log = list(simulator.webhook_log)[offset:]
            return _json_response(200, {"data": [{**entry, "body": entry["body"].decode("utf-8", "replace")}
                                                 for entry in log], "total": len(simulator.webhook_log)})
        if route == ("GET", "stats"):
            return _json_response(200, simulator.stats())
        if route == ("POST", "wait"):
            done = simulator.wait_for_webhooks(float(data.get("timeout", 5.0)))
            return _json_response(200 if done else 504, {"done": done, **simulator.stats()})
        if route == ("POST", "reset"):
            simulator.reset(numbers=bool(data.get("numbers")))
            return _json_response(200, {"success": True})
    except (SimulatorError, KeyError, TypeError, ValueError) as exc:
        return _json_response(400, {"error": f"{type(exc).__name__}: {exc}"})
    return _json_response(404, {"error": f"No simulator endpoint {method} /_sim/{'/'.join(segments)}."})


def _failure_from(simulator: GraphSimulator, data: Mapping[str, Any]) -> FailureRule:
    count = data.get("count", 1)
    common = {"recipient": data.get("recipient") or data.get("to"), "phone_number_id": data.get("phone_number_id"),
              "details": data.get("details")}
    if data.get("async"):
        return simulator.fail_async(count, code=int(data.get("code") or 131047), **common)
    return simulator.fail_next(count, code=data.get("code"), http_status=data.get("http_status"),
                               hang_seconds=data.get("hang_seconds"), subcode=data.get("subcode"), **common)


def _inbound_from(simulator: GraphSimulator, data: Mapping[str, Any]) -> dict[str, Any]:
    duplicate = bool(data.get("duplicate"))
    if "batch" in data:
        return {"ids": simulator.inbound_batch(data["batch"], duplicate=duplicate)}
    item = {key: value for key, value in data.items() if key != "duplicate"}
    if "content_base64" in item:
        item["content"] = base64.b64decode(item.pop("content_base64"))
    ids = simulator.inbound_batch([item], duplicate=duplicate)
    return {"id": ids[0], "ids": ids}


def _configure(simulator: GraphSimulator, data: Mapping[str, Any]) -> dict[str, Any]:
    if "status_progression" in data:
        simulator.status_progression = [str(status) for status in data["status_progression"] or []]
    if "status_delay" in data:
        simulator.status_delay = float(data["status_delay"])
    if "webhook_retry_delays" in data:
        simulator.webhook_retry_delays = tuple(float(delay) for delay in data["webhook_retry_delays"])
    for flag in ("webhooks_enabled", "strict_templates", "strict_mark_read"):
        if flag in data:
            setattr(simulator, flag, bool(data[flag]))
    if "throughput_per_second" in data:
        for number in simulator.numbers.values():
            if data.get("phone_number_id") in (None, number.phone_number_id):
                number.throughput_per_second = float(data["throughput_per_second"])
                number.refill()
    return {"status_progression": simulator.status_progression, "status_delay": simulator.status_delay,
            "webhook_retry_delays": list(simulator.webhook_retry_delays),
            "webhooks_enabled": simulator.webhooks_enabled, "strict_templates": simulator.strict_templates,
            "strict_mark_read": simulator.strict_mark_read}
