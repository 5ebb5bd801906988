"""The one exception type for user mistakes (bad paths, bad data, bad options).

The CLI turns it into a single line on stderr and exit code 2; anything else is a
programming error and keeps its traceback.
"""


class CifarlabError(Exception):
    """A problem the user can fix; the message says what and how."""


class RunStopped(Exception):
    """A run stopped on request (SIGTERM, SIGINT) after writing a checkpoint for its last step;
    the CLI prints the message and exits with STOPPED_EXIT_STATUS."""


STOPPED_EXIT_STATUS = 75  # EX_TEMPFAIL of sysexits.h: a temporary failure, worth running again
