"""Shared widgets, cached data access and charts for the app pages."""
