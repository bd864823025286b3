"""The ``batara`` console script: the same command line as the Rust binary."""

import sys

from batara._native import cli_main


def main() -> None:
    """Run ``batara`` with this process's arguments and exit with its code."""
    sys.exit(cli_main(["batara", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
