"""The WhatsApp Web protocol's message shapes, read the same way for every provider that speaks
it (the QR-paired gateways built on Baileys, and our own connection service): its
addresses (`jids`: phone numbers, @lid, groups, Brazil's ninth digit) and its messages
(`messages`: a WAMessage as the inbox's IncomingMessage).

No provider's envelope, URLs, headers or settings belong here: each provider's package unwraps
its own webhooks and hands the WAMessage inside to `incoming_message`."""
