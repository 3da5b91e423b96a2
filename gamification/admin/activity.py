"""Admin pages for activity."""
