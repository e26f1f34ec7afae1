"""Segment-compatible ingestion over HTTP: message validation (pure) and the /v1/ views."""
