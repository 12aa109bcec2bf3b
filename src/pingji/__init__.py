"""pingji 评级 — customer evaluation schemes written as files, applied set-based to your data."""

__version__ = "0.1.0"
