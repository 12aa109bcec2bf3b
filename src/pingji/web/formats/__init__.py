"""Format overrides per language (Django's FORMAT_MODULE_PATH)."""
