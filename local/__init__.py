"""The embedded AWS: a Direct Connect MACsec emulator, a runner of the synthesized workflow, scenarios."""
