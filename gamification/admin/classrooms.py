"""Admin pages for classrooms."""
