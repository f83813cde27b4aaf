"""Decisions of each workflow step, free of Lambda and boto3 details."""
