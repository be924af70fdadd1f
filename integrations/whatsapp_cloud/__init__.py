"""WhatsApp Cloud API (Meta Graph) channel."""
