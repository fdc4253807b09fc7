"""``python -m watcher`` → the CLI."""

from watcher.cli import main

raise SystemExit(main())
