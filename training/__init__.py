"""Model fitting, temporal evaluation, global explanations and the MLflow registry."""
