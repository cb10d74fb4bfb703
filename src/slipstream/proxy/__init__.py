"""The watching proxy: signed proxy URLs (pure) and the upstream side of the proxy routes."""
