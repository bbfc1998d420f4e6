"""CRM export loading and validation, value labels, leakage-safe features, sample data."""
