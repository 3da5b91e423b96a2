"""Admin pages for badges."""
