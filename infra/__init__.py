"""CDK constructs of the MACsec key rotation stack."""
