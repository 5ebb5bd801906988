"""The one exception type for user mistakes (bad paths, bad data, bad options).

The CLI turns it into a single line on stderr and exit code 2; anything else is a
programming error and keeps its traceback.
"""


class CifarlabError(Exception):
    """A problem the user can fix; the message says what and how."""
