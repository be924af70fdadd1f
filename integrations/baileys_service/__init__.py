"""A WhatsApp number paired by QR code through a connection service of the user's own (a small
Node server on Baileys, as the product's seeds 001 and 003 describe it): channel kind
`whatsapp_gateway`.

Where the service is. Platform-wide: CONNECTION_SERVICE_URL and CONNECTION_SERVICE_API_KEY
(seed 003 calls them WHATSAPP_MICROSERVICE_URL and WHATSAPP_API_KEY: read too, each only when
the first name is not set). Or per channel: config "service_url", credentials "api_key" (the
channel's own win). The key travels as `Authorization: Bearer <key>` (config "auth_header":
"bearer", the default) or `X-API-KEY: <key>` ("x-api-key").

The service's paths (config "path_style"); `{tenantId}` is the channel's session id, config
"session_id", made up when the channel is connected (nothing of our tenant's ids):

    "v1" (seed 003)                               "short" (seed 001)
    POST   /api/v1/sessions/{tenantId}/start      POST   /sessions/start      {"tenantId"}
    GET    /api/v1/sessions/{tenantId}/status     GET    /sessions/{tenantId}/status
    DELETE /api/v1/sessions/{tenantId}            DELETE /sessions/{tenantId}
    POST   /api/v1/messages/{tenantId}/send       POST   /message/send        {"tenantId", ...}

    start  → {"success": true, "sessionId", "qrCode": "data:image/png;base64,..." | null}
             (409: started already)
    status → {"connected": bool, "status": "connected" | "connecting" | "disconnected" |
              "logged_out", "phoneNumber", "qrCode", "lastActivity"} (404: no such session)
    send   ← {"to": digits, or a JID for groups and @lid contacts, "message": text, "type": "text"}
           → {"success": true, "messageId"}

Assumed where the seeds are silent: a send answers {"success": true, "messageId"}, and an
answer without a messageId is treated as "it may have gone" (ProviderOutcomeUnknown: failed as
delivery unknown, never sent again on its own); errors are {"success": false, "error" or
"message": words}; 401/403 is a refused key, 400/404/422 a refusal (the service's words kept),
429 and 5xx trouble to retry. The service takes media only as a public `mediaUrl`; this inbox
has no public (signed, expiring) links to its files, so a reply with an attachment fails at
once saying so, and only text goes out. Replies are not sent as quotes (the seeds' send has no
field for it), and the service can neither download a contact's media for us nor take read
receipts: media arrive described (integrations.whatsapp_web), not as files.

Its webhooks, to the channel's webhook URL, signed `X-Webhook-Signature: <hex HMAC-SHA256 of
the raw body with the channel's webhook secret>` (a "sha256=" prefix is accepted): the secret
is credentials "webhook_secret", made up when the channel is connected, and shown in the
channel's setup steps for the admin to give the service. The envelope:

    {"event": "message", "tenantId": "<session id>", "data": <a Baileys WAMessage>}
    {"event": "message.status" | "messages.update", "tenantId", "data": [<a Baileys message
        update: {"key": {"remoteJid", "id", "fromMe"}, "update": {"status": 0-5}}>, ...]}
        (WAMessageStatus: 2 SERVER_ACK → SENT, 3 DELIVERY_ACK → DELIVERED, 4 READ and
        5 PLAYED → READ, 0 ERROR → FAILED; 1 PENDING says nothing new); an update without a
        status whose "message" is null, or whose "messageStubType" is 1 (REVOKE), is Baileys'
        word that the message was deleted for everyone: the thread shows it deleted
    {"event": "qr", "tenantId", "data": {"qrCode": "data:image/png;base64,..."}}
    {"event": "connection" | "status", "tenantId",
     "data": {"status": "connected" | "connecting" | "disconnected" | "logged_out", "phoneNumber"}}

tests/fixtures/baileys_service/ holds one of each, written from the seeds' shapes. A verified
webhook is answered 200 with the pipeline's own body ("ok"), not seed 003's {"success": true}:
the pipeline, not an adapter, chooses the answer.

Modules: `client` (paths, headers, HTTP and its errors), `events` (signature and envelope),
`forms`, `adapter`, and `simulator` (a local stand-in of the service, `manage.py simulator
whatsapp_gateway`).
"""
