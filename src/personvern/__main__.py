"""``python -m personvern`` runs the command-line interface."""

from personvern.cli import main

main()
