"""Powertools singletons shared by every handler (service and namespace come from the environment)."""

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
# Only the AWS SDK is traced (every call the functions make goes through botocore): patching every library X-Ray
# knows imports requests, httplib and others at cold start for nothing (bench: importRatio).
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()

# botocore logs every request, body included, at DEBUG, and AssociateMacSecKey's body carries the CAK.
# POWERTOOLS_LOG_LEVEL sets only our Logger, but Lambda's log level (or any code) may set the root logger to
# DEBUG, which the SDK's loggers inherit: they are pinned at WARNING instead, whatever the root says.
SDK_LOGGERS = ("boto3", "botocore", "s3transfer", "urllib3")


def quiet_sdk_loggers() -> None:
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
