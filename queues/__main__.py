"""``python -m queues``: the Manager's operations on the command line."""

from queues.cli import main

raise SystemExit(main())
