"""Batch scoring from the registry and reason codes. Never imports icpfit.training."""
