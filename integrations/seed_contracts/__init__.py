"""The product seeds' WhatsApp API contracts, kept for integrators whose code was written against
the seed documents: thin, tenant-scoped, role-checked aliases of the product's own API, each
listed in the OpenAPI schema under its seed's tag. There is no second implementation here:
channels are created, renamed, archived, paired and disconnected by channels_app and
integrations.pairing, a kind's settings are made by that kind's own settings form (the adapter's
`form_class`), messages go out through conversations' message_send, and webhooks are verified,
stored and processed by integrations.inbound. This package knows no provider's config keys,
headers or wire format: it asks the registry and the adapter contract (.importlinter keeps it so).

    seed 000  /api/v1/whatsapp/instances[/{id}[/qrcode|/status|/disconnect|/messages]],
              /api/v1/whatsapp/health, /api/webhooks/whatsapp/{tenantId}/{instanceId}
    seed 001  /api/whatsapp/connect, /api/whatsapp/status/{tenantId},
              /api/whatsapp/disconnect/{tenantId}, /api/conversations/{id}/send-message,
              /api/webhooks/whatsapp
    seed 004  /integrations/whatsapp[/{id}[/connect|/status]], /webhooks/evolution

The seeds' words are mapped in one place (kinds): their `type` (OFFICIAL, EVOLUTION, BAILEYS)
as our kinds, and the few settings fields whose form names differ from the seed's in snake_case.

Decided here where the seeds' documents, as we have them, say nothing:
- seed 004's integrations take and answer seed 000's field names (`name`, `phoneNumber`, `type`,
  `serverUrl`, ..., `qrcode`, `createdAt`), and `/{id}/connect` is a POST answering seed 000's
  `{qrcode, pairingCode, status}`;
- a QR code is a PNG as a data: URL (`data:image/png;base64,...`), as Evolution and the
  connection service give theirs;
- seed 001's `sessionId` is the number's (channel's) id, and its account-wide number is the
  account's oldest number paired by QR code;
- `phoneNumber` is read as contacts.phones reads numbers (without +country: in the account's
  country) and answered in E.164; the number an admin gives is the channel's until the provider
  tells the one actually paired;
- a message to a phone goes to the contact's latest conversation on the number that is not
  resolved, or a new one.
"""
