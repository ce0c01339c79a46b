"""User-facing error types.

``InputError`` carries a one-line message that says what is wrong with the user's input and how
to fix it. The CLI prints it as ``error: <message>`` and exits 2; the app shows it on the page.
Anything else that escapes is a bug, not bad input.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input (file, columns, values, options). The message is shown to the user as is."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class CancelledError(RuntimeError):
    """Raised inside long jobs when their cancel token is set."""
