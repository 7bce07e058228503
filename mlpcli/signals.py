"""Ctrl-C, SIGTERM and a closed output while `mlpcli train` runs, and the exit status they give.

    with StopOnSignals() as stop:
        outcome = experiment.train(cfg, on_start=stop.attach)
    code = stop.exit_code(outcome.summary["status"], display)

Before the trainer exists (loading data, building the network) a signal aborts at once with
`Interrupted`: nothing has been written yet. Once it is attached, a signal asks the trainer to
stop after its current minibatch; the run is then saved as interrupted and the command exits
with 128 + the signal. This is process control rather than display, so it lives beside cli.py
and not in console/.
"""

from __future__ import annotations

import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)
SIGPIPE_EXIT = 128 + 13  # a closed output ends training as a shell reports SIGPIPE: 141


class Interrupted(KeyboardInterrupt):
    """A signal arrived before training started: nothing was saved."""

    def __init__(self, signum: int):
        super().__init__("interrupted before training; nothing saved")
        self.exit_code = 128 + signum


class StopOnSignals:
    """Context manager: SIGINT and SIGTERM stop the attached trainer instead of the process."""

    def __init__(self):
        self.signum: int | None = None  # the first signal received
        self.trainer = None
        self._previous: dict = {}

    def attach(self, trainer) -> None:
        """From now on a signal stops `trainer` at its next minibatch (experiment's on_start)."""
        self.trainer = trainer

    def event(self) -> threading.Event:
        """A sweep: an Event that a signal sets from now on (no new trials start, running ones
        stop and are saved interrupted)."""
        event = threading.Event()
        self.attach(_SetsEvent(event))
        return event

    def _handle(self, signum, frame) -> None:
        if self.signum is None:
            self.signum = signum
        if self.trainer is None:
            raise Interrupted(signum)
        self.trainer.request_stop()

    def __enter__(self) -> StopOnSignals:
        self._previous = {sig: signal.signal(sig, self._handle) for sig in SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def exit_code(self, status: str, display) -> int:
        """0 finished · 1 diverged · interrupted: 128 + the signal, else 141 when the output's
        reader went away or 2 when the output could not be written (display tells which)."""
        if status == "diverged":
            return 1
        if status != "interrupted":
            return 0
        if self.signum is None and display.output_error:
            return 2
        if self.signum is None and display.output_closed:
            return SIGPIPE_EXIT
        return 128 + (self.signum or signal.SIGINT)


class _SetsEvent:
    """Stands in for a trainer: request_stop() sets the event."""

    def __init__(self, event: threading.Event):
        self.request_stop = event.set
