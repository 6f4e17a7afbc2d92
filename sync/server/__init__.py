"""The central server: ingest, fleet, scores and pages."""
