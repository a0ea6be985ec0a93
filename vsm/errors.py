"""The one exception type users see: a French message, already worded for a person."""


class VsmError(Exception):
    """An error whose message (in French) is shown as is to the user."""
