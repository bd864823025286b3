"""``python -m batara.agents run --config agents.toml``: the ``batara-agents`` command."""

from batara.agents.cli import main

main()
