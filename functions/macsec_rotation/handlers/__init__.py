"""Lambda entry points, one per workflow step: decorate, parse, call the logic, dump."""
