"""Freshness alerts: events written with status changes, and their delivery (Atom, webhooks, e-mail)."""
