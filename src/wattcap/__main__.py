"""``python -m wattcap`` is the ``wattcap`` command."""

from wattcap.cli import main

main()
