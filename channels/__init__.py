"""Channels: each turns its payload into a `Message` and renders the engine's replies."""
