"""Phi Agents local agent: runs tools for your virtual employees on your own machine."""

__version__ = "0.1.0"
