"""icpfit: learn your ideal customer profile from your own CRM history."""

__version__ = "0.1.0"
