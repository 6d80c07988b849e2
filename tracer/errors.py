"""Errors and warnings that reach the user as one line naming the place and the fix."""
import unicodedata


def one_line(text: str) -> str:
    """Text for one terminal line: control characters (a newline or an escape in a file or unit name) shown
    escaped, so no name can forge a line or recolour the terminal."""
    return "".join(repr(c)[1:-1] if unicodedata.category(c)[0] == "C" else c for c in text)


class TracerError(Exception):
    """Bad input or a failed run: printed as one line by the CLI, exit status 2."""

    exit_status = 2

    def __init__(self, place: str, message: str):
        self.place = place
        self.message = message
        super().__init__(f"{place}: {message}" if place else message)


class SpecError(TracerError):
    """A spec file that cannot be used as written."""


class ResourceError(TracerError):
    """Out of memory or out of disk space: what could not be done, and the fix; exit status 3."""

    exit_status = 3


class TracerWarning(UserWarning):
    """Something legal but suspicious (e.g. a threshold unit through which no error flows)."""
