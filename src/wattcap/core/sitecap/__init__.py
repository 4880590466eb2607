"""Site cap: keep a site under its grid connection at every instant, online and offline (pure)."""
