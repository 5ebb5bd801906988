"""Stopping a run cleanly on SIGTERM (what a cluster scheduler sends before it pre-empts a job)
and SIGINT (Ctrl-C): the loop finishes the step under way, writes a checkpoint for it and stops,
so that `--resume` loses nothing. A second SIGINT aborts at once."""

from __future__ import annotations

import signal
import threading

HANDLED = (signal.SIGTERM, signal.SIGINT)


class StopRequests:
    """Within `with StopRequests() as stop:`, a handled signal only sets `stop.signal_name`.
    Handlers can only be installed from the main thread; elsewhere signals act as before."""

    def __init__(self):
        self.signal_name: str | None = None
        self._previous: dict = {}

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            self._previous = {number: signal.signal(number, self._request) for number in HANDLED}
        return self

    def __exit__(self, *exc_info) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _request(self, number: int, frame) -> None:
        if self.signal_name is not None and number == signal.SIGINT:
            raise KeyboardInterrupt  # asked twice: do not wait for the step
        self.signal_name = signal.Signals(number).name
