"""``python -m batara``: the ``batara`` command line."""

from batara.cli import main

main()
