"""Job files and the constraint catalogue: every rule is data."""
