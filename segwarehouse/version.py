"""The package version, on its own so every room may read it."""
__version__ = "0.1.0"
