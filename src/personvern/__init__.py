"""personvern: privacy operations for small online businesses, Norwegian first."""

__version__ = "0.1.0"
