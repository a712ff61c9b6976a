"""``python -m biofeedback`` runs the command line."""

from biofeedback.cli import main

raise SystemExit(main())
