"""Builds the CDK app from context; shared by app.py, the tests and the local runner."""

from __future__ import annotations

import os
from typing import Any

from aws_cdk import App, Environment

from .settings import CONTEXT_KEYS, DeploymentSettings
from .stack import MacsecRotationStack


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> tuple[App, MacsecRotationStack]:
    app = App(context=context or {}, outdir=outdir)
    settings = DeploymentSettings.from_context(_context_values(app))
    env = Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))
    stack = MacsecRotationStack(app, settings.stack_name, settings, env=env)
    return app, stack


def _context_values(app: App) -> dict[str, Any]:
    return {key: app.node.try_get_context(key) for key in CONTEXT_KEYS}
