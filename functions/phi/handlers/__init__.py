"""Thin Lambda handlers: Powertools decorators and one call into plain logic."""
