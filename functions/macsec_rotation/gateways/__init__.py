"""Thin, typed wrappers over boto3: the only place that knows request and response shapes."""
