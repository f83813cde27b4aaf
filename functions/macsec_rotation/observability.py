"""Powertools singletons shared by every handler (service and namespace come from the environment)."""

import logging
import threading
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.tracing.base import BaseProvider

# Only the AWS SDK is traced (every call the functions make goes through botocore): patching every library X-Ray
# knows imports requests, httplib and others at cold start for nothing (bench: importRatio).
TRACED_MODULES = ("botocore",)


class XRayOnFirstUse(BaseProvider):
    """The X-Ray SDK's recorder (what the Tracer uses by default), imported at its first use instead of at import.

    The SDK, with wrapt and asyncio, was the largest part of a handler's cold import past boto3 (bench:
    importRatio). Its first use is capture_lambda_handler opening the handler's subsegment, at the start of every
    invocation and before the step runs: that is when the SDK is imported, configured as the Tracer configures
    it (each subsegment sent on its own) and patches `modules`, so the first AWS call of the first invocation is
    already traced. The patch wraps botocore's classes, so clients made at import are traced as well. Where the
    Tracer is disabled (outside Lambda, POWERTOOLS_TRACE_DISABLED) it has disabled the SDK: nothing is patched,
    as before, and the recorder hands out the SDK's no-op subsegments."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = tuple(modules)
        self._recorder: Any = None
        self._loading = threading.Lock()  # the local emulator runs functions on several threads

    @property
    def recorder(self) -> Any:
        """aws_xray_sdk.core.xray_recorder, once configured and with `modules` patched."""
        if self._recorder is None:
            with self._loading:
                if self._recorder is None:
                    self._recorder = self._load()
        return self._recorder

    def _load(self) -> Any:
        from aws_xray_sdk import global_sdk_config  # noqa: PLC0415 (deferred: the point of this class)
        from aws_xray_sdk.core import patch, xray_recorder  # noqa: PLC0415

        if global_sdk_config.sdk_enabled():
            xray_recorder.configure(streaming_threshold=0)  # as Tracer() does for the X-Ray provider
            patch(self.modules)
        return xray_recorder

    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Any:
        return self.recorder.in_subsegment(name=name, **kwargs)

    def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> Any:
        return self.recorder.in_subsegment_async(name=name, **kwargs)

    def put_annotation(self, key: str, value: Any) -> None:
        self.recorder.put_annotation(key=key, value=value)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.recorder.put_metadata(key=key, value=value, namespace=namespace)

    def patch(self, modules: Sequence[str]) -> None:
        from aws_xray_sdk.core import patch  # noqa: PLC0415

        self.recorder  # noqa: B018 (loaded and configured first)
        patch(modules)

    def patch_all(self) -> None:
        from aws_xray_sdk.core import patch_all  # noqa: PLC0415

        self.recorder  # noqa: B018
        patch_all()


logger = Logger()
# auto_patch off: the provider patches TRACED_MODULES itself, at its first use.
tracer = Tracer(provider=XRayOnFirstUse(TRACED_MODULES), auto_patch=False, patch_modules=TRACED_MODULES)
metrics = Metrics()

# botocore logs every request, body included, at DEBUG, and AssociateMacSecKey's body carries the CAK.
# POWERTOOLS_LOG_LEVEL sets only our Logger, but Lambda's log level (or any code) may set the root logger to
# DEBUG, which the SDK's loggers inherit: they are pinned at WARNING instead, whatever the root says.
SDK_LOGGERS = ("boto3", "botocore", "s3transfer", "urllib3")


def quiet_sdk_loggers() -> None:
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
