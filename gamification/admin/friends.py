"""Admin pages for friends."""
