"""The cells of each research notebook, one module per notebook (see ../build_notebooks.py)."""
