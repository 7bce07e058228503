"""`python -m mlpcli`, and the `mlpcli` command's entry point.

It imports nothing heavy itself, so that Ctrl-C while the command's modules are still loading
(the first tenth of a second) ends with one line and exit status 130, not a traceback.
"""

import sys


def main() -> None:
    try:
        from mlpcli.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted\n")
        sys.exit(130)
    run()


if __name__ == "__main__":
    main()
