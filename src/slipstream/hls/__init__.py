"""HLS: playlist parsing and segment sniffing (pure), the structural health check (I/O)."""
