"""slipstream: a self-hosted live-stream aggregator for motorsport fans."""

__version__ = "0.1.0"
