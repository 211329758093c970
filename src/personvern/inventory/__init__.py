"""The inventory (``privacy.yaml``): models, loading and validation."""
