"""CDN tokens: reading their expiry from URLs (pure) and refreshing watched streams."""
