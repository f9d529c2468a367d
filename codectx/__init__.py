"""codectx: fit a whole code repository into a coding assistant's context window."""

__version__ = "0.1.0"
