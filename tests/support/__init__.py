"""Test helpers shared by several test areas (e.g. an OpenAI-compatible HTTP server)."""
