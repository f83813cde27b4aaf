#!/usr/bin/env python3
"""CDK entry point: `cdk synth` / `cdk deploy` run this with context from cdk.json and -c flags."""

from infra.app import build_app

if __name__ == "__main__":
    app, _ = build_app()
    app.synth()
