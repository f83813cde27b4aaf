"""Builds the CDK app from context; shared by app.py, the tests and the local runner."""

from __future__ import annotations

from typing import Any

from aws_cdk import App

from .nag import check_with_cdk_nag
from .settings import CONTEXT_KEYS, DeploymentSettings
from .stack import MacsecRotationStack


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> tuple[App, MacsecRotationStack]:
    app = App(context=context or {}, outdir=outdir)
    settings = DeploymentSettings.from_context(_context_values(app))
    # Environment-agnostic on purpose: one template deploys to every account and Region.
    stack = MacsecRotationStack(app, settings.stack_name, settings)
    check_with_cdk_nag(app, stack, stack.invoked_functions, settings)
    return app, stack


def _context_values(app: App) -> dict[str, Any]:
    return {key: app.node.try_get_context(key) for key in CONTEXT_KEYS}
