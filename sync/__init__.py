"""Durable kiosk store and outbox, the batched uploader, and the central server."""
