"""The package version (a base module: the cache key reads it without importing the package root)."""

__version__ = "0.1.0"
