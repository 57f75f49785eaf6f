"""``python -m trimtab`` runs the ``trimtab`` command line."""

from trimtab.optimizer.cli import main

main()
