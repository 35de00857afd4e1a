"""The package version, in a leaf module so that code reporting it need not import the package."""

__version__ = "0.1.0"
