"""Phi Agents cloud side."""
