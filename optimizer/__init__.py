"""Compile, solve and verify the minimum-tracking-error problem; report and write results."""
