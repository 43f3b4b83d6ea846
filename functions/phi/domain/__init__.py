"""Typed models shared by the API, the handlers and the workflows."""
