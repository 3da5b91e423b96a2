"""django-filter FilterSets of the list endpoints whose lists are really filtered."""
