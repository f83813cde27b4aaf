"""MACsec key rotation for AWS Direct Connect: the Lambda runtime package."""
