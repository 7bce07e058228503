"""Domain errors. The library raises these; the CLI turns them into one line and an exit code."""


class MlpcliError(Exception):
    """Base class: a problem the user can fix. `exit_code` is what the CLI exits with."""

    exit_code = 2


class DataError(MlpcliError):
    """The data cannot be used: unreadable file, malformed CSV, bad target, missing values."""


class ConfigError(MlpcliError):
    """An option or a combination of options is invalid, or an --init / --config file is bad."""


class RunError(MlpcliError):
    """A run directory cannot be found, resolved or read."""
