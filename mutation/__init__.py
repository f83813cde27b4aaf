"""A small fixed set of hand-made mutations of the real code, each run against the tests meant to kill it."""
