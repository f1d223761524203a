"""jirga: watch how a conflict is narrated in the news."""

__version__ = "0.1.0"
