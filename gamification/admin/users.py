"""Admin pages for accounts."""
