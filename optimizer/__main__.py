"""``python -m optimizer`` runs the ``trimtab`` CLI."""

from ._cli import main

main()
