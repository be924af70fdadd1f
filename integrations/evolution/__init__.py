"""WhatsApp through Evolution API v2 (a QR-paired gateway built on Baileys)."""
