"""The one exception type that user-facing code raises.

A ``TunesafeError`` carries a single line that names the thing that is wrong (a file and
line, a config key, a value) and what was expected. The CLI prints it without a traceback
and exits with status 2.
"""


class TunesafeError(Exception):
    """A problem with the user's input: config, data file, model path."""

    def __init__(self, message: str):
        super().__init__(" ".join(message.split("\n")))
