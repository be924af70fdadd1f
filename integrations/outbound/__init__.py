"""The outbound pipeline, the same for every provider: listeners hear of the core's events
(listeners), a channel's senders work through its waiting replies (senders), each reply
claimed, handed to the adapter and its result recorded, with no transaction open across the
provider's call (send)."""
