"""Research workflow: backtests, frontiers, concentration monitoring, plots and HTML reports.

Everything here is built on the public core (``optimizer.optimize``, ``models``); nothing in
``optimizer``'s core imports this package.
"""

__all__: list[str] = []
