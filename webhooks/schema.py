"""The webhook bodies in the OpenAPI schema's components (a postprocessing hook of
SPECTACULAR_SETTINGS): integrators generate their receivers' types from them."""

from __future__ import annotations

from typing import Any

from webhooks.payloads import EVENT_NAMES, PAYLOAD_VERSION, TEST_EVENT

_UUID = {"type": "string", "format": "uuid"}
_UUID_OR_NULL = {"type": ["string", "null"], "format": "uuid"}
_TIME = {"type": "string", "format": "date-time"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_CHANGE = {
    "old_status": {"type": "string", "description": "conversation.status_changed only."},
    "new_status": {"type": "string", "description": "conversation.status_changed only."},
    "changed": {"type": "array", "items": {"type": "string"},
                "description": "conversation.updated, message.updated, contact.updated: the fields that changed."},
    "actor_id": {**_UUID_OR_NULL, "description": "The member who made the change (null: the system, a contact)."},
}

COMPONENTS: dict[str, Any] = {
    "WebhookEnvelope": {
        "type": "object",
        "description": (
            "The body of every webhook (seed 002 §6.4's envelope, extended). Signed as Standard Webhooks says: "
            "headers `webhook-id` (the delivery's id, the same on every retry: deduplicate by it), "
            "`webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256>`, "
            "space-separated when a rotated secret still signs). Events of one conversation arrive in order."),
        "required": ["event", "version", "id", "timestamp", "data"],
        "properties": {
            "event": {"type": "string", "enum": [*EVENT_NAMES, TEST_EVENT]},
            "version": {"type": "integer", "enum": [PAYLOAD_VERSION],
                        "description": "The payloads' version: fields are only ever added within a version."},
            "id": {"type": "string", "format": "uuid", "description": "The event's id (in the account's event log)."},
            "timestamp": _TIME,
            "data": {"anyOf": [{"$ref": "#/components/schemas/WebhookMessageData"},
                               {"$ref": "#/components/schemas/WebhookConversationData"},
                               {"$ref": "#/components/schemas/WebhookContactData"},
                               {"$ref": "#/components/schemas/WebhookChannelData"}]},
        },
    },
    "WebhookMessageData": {
        "type": "object",
        "description": "message.received, message.created, message.status_changed, message.updated.",
        "required": ["conversation_id", "message_id", "sender", "content", "channel"],
        "properties": {
            "conversation_id": _UUID, "message_id": _UUID,
            "sender": {"type": "object", "required": ["type", "id"], "properties": {
                "type": {"type": "string", "enum": ["contact", "agent", "bot", "system"]},
                "id": {**_UUID_OR_NULL, "description": "The contact's or the agent's id."}}},
            "content": {"type": "string"},
            "channel": {"type": "string", "description": "The channel's kind, as `kind` in /api/v1/channels."},
            "channel_id": _UUID, "contact_id": _UUID,
            "direction": {"type": "string", "enum": ["INBOUND", "OUTBOUND"]},
            "type": {"type": "string"}, "status": {"$ref": "#/components/schemas/MessageStatus"},
            "error": {"type": ["object", "null"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}}},
            "provider_message_id": {"type": ["string", "null"]},
            "external_id": {"type": ["string", "null"]},
            "created_at": _TIME, "sent_at": _TIME_OR_NULL, "delivered_at": _TIME_OR_NULL,
            "read_at": _TIME_OR_NULL, "deleted_at": _TIME_OR_NULL,
            "changed": _CHANGE["changed"],
            "error_code": {"type": "string", "description": "message.status_changed only."},
        },
    },
    "WebhookConversationData": {
        "type": "object",
        "description": "conversation.created, conversation.updated, conversation.status_changed, "
                       "conversation.assigned.",
        "required": ["conversation_id", "channel", "channel_id", "contact_id", "status"],
        "properties": {
            "conversation_id": _UUID, "channel": {"type": "string"}, "channel_id": _UUID, "contact_id": _UUID,
            "status": {"$ref": "#/components/schemas/ConversationStatus"}, "priority": {"type": "string"},
            "assignee_id": _UUID_OR_NULL, "team_id": _UUID_OR_NULL,
            "previous_assignee_id": {**_UUID_OR_NULL, "description": "conversation.assigned only."},
            "created_at": _TIME, "last_activity_at": _TIME, **_CHANGE,
        },
    },
    "WebhookContactData": {
        "type": "object", "description": "contact.created, contact.updated.",
        "required": ["contact_id"],
        "properties": {"contact_id": _UUID, "name": {"type": "string"}, "phone": {"type": "string"},
                       "email": {"type": "string"}, "language": {"type": "string"},
                       "attributes": {"type": "object", "additionalProperties": True},
                       "changed": _CHANGE["changed"]},
    },
    "WebhookChannelData": {
        "type": "object", "description": "channel.status_changed.",
        "required": ["channel_id", "channel", "status"],
        "properties": {"channel_id": _UUID, "channel": {"type": "string"}, "name": {"type": "string"},
                       "status": {"$ref": "#/components/schemas/ChannelStatus"},
                       "old_status": {"type": "string"}, "new_status": {"type": "string"}},
    },
}


def webhook_payload_components(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in COMPONENTS.items():
        schemas.setdefault(name, schema)
    return result
