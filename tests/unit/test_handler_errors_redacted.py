"""A deployed function whose SDK call fails with a text that echoes the CAK (botocore's parameter validation, a
service's message), or whose root logger runs at DEBUG: what leaves the handler (the Lambda error payload,
the history's Cause, the trace) keeps its error name for Retry and Catch, and neither it nor any log line
holds the CAK or 16 hex digits of it."""

from __future__ import annotations

import io
import logging
import traceback
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from local.directconnect import Connection
from local.directconnect.backend import OperationFault
from local.lambdas import LambdaContext
from macsec_rotation import clients
from macsec_rotation.errors import AssociationRejected, InvalidInput
from macsec_rotation.handlers import begin
from macsec_rotation.handlers._step import step_handler
from macsec_rotation.models import Poll, TargetRotation
from macsec_rotation.observability import SDK_LOGGERS, logger, metrics
from tests.conftest import REGION, Emulated, assert_no_key_material, new_key

TARGET = "dxcon-aaaa1111"
CONTEXT = LambdaContext(function_name="Begin", invoked_function_arn="arn:aws:lambda:us-east-1:1:function:a")
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:rotation:e1"
LOCKS = "locks"
EMULATOR_LOGGERS = ("moto", "local", "responses", "werkzeug")  # the embedded AWS, not the function


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Every line the function logs (its Logger at DEBUG, as POWERTOOLS_LOG_LEVEL=DEBUG sets it), every record
    that reaches a root logger at DEBUG (as Lambda's log level DEBUG sets it: botocore's among them), and
    Powertools' own (as POWERTOOLS_DEBUG=true shows them: the Tracer logs the exception a handler raised)."""
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    monkeypatch.setattr(metrics, "namespace", "MacsecRotation")  # as the function's environment sets it
    sink, root, powertools = io.StringIO(), logging.getLogger(), logging.getLogger("aws_lambda_powertools")
    to_sink = logging.StreamHandler(sink)
    to_sink.addFilter(lambda record: record.name.split(".")[0] not in EMULATOR_LOGGERS)
    levels = {name: logging.getLogger(name).level for name in (*SDK_LOGGERS, powertools.name)}
    root_level, logger_level = root.level, logger.log_level
    previous_stream = logger.registered_handler.setStream(sink)  # type: ignore[attr-defined]
    logger.setLevel(logging.DEBUG)
    for captured in (root, powertools):
        captured.addHandler(to_sink)
        captured.setLevel(logging.DEBUG)
    yield sink
    for captured in (root, powertools):
        captured.removeHandler(to_sink)
    logger.registered_handler.setStream(previous_stream)  # type: ignore[attr-defined]
    root.setLevel(root_level)
    logger.setLevel(logger_level)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def rotation(
    emulated: Emulated, monkeypatch: pytest.MonkeyPatch, dx: Any = None, sm: Any = None
) -> tuple[dict[str, Any], str]:
    """Begin's state for a connection with one old key, to the new pair in the secret (Begin takes the lock,
    decides again and associates the new key); the functions' own clients (made by clients.py) are these."""
    connection = Connection(TARGET, "c", True, "should_encrypt", tags={"macsec:secret": "macsec/x"})
    emulated.backend.add_connection(connection)
    emulated.backend.seed_key(connection, *new_key())
    ckn, cak = new_key()
    arn = emulated.secret("macsec/x", {"ckn": ckn, "cak": cak}, {"macsec:target": TARGET})
    (version,) = emulated.secrets.describe_secret(SecretId=arn)["VersionIdsToStages"]
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName=LOCKS,
        KeySchema=[{"AttributeName": "target", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "target", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("LOCK_TABLE_NAME", LOCKS)
    made = {"directconnect": dx or emulated.dx, "secretsmanager": sm or emulated.secrets, "dynamodb": dynamodb}
    monkeypatch.setattr(clients, "_default", made.__getitem__)
    item = TargetRotation(
        secret_arn=arn,
        version_id=version,
        target=TARGET,
        target_type="connection",
        new_ckn=ckn,
        action="Associate",
        poll=Poll(interval_seconds=10, max_attempts=3),
    )
    return {"item": item.dump(), "executionId": EXECUTION}, cak


def invoked(handler: Any, event: Any, logs: io.StringIO) -> dict[str, Any]:
    """The handler's answer; logs then hold what was logged from its start (not the test's own setup)."""
    logs.seek(0)
    logs.truncate()
    answer: dict[str, Any] = handler(event, CONTEXT)
    return answer


def escaping(handler: Any, event: Any, logs: io.StringIO) -> Exception:
    with pytest.raises(Exception) as caught:
        invoked(handler, event, logs)
    assert isinstance(caught.value, Exception)
    return caught.value


def test_a_parameter_validation_error_that_prints_the_cak_leaves_redacted_under_its_name(
    emulated: Emulated, monkeypatch: pytest.MonkeyPatch, logs: io.StringIO
) -> None:
    # Given a defect that hands botocore the CAK as bytes: its ParamValidationError prints the value
    dx = boto3.client("directconnect", region_name=REGION)

    def cak_as_bytes(params: dict[str, Any], **_: Any) -> None:
        params["cak"] = params["cak"].encode()

    dx.meta.events.register("before-parameter-build.direct-connect.AssociateMacSecKey", cak_as_bytes)
    event, cak = rotation(emulated, monkeypatch, dx=dx)
    # When Begin runs
    error = escaping(begin.handler, event, logs)
    # Then the error keeps botocore's name and the parameter it is about, not the value
    assert type(error).__name__ == "ParamValidationError"
    assert "Invalid type for parameter cak" in str(error) and "<redacted: 64 hex digits>" in str(error)
    assert "Exception received from" in logs.getvalue(), "the Tracer logged the exception"
    assert_no_key_material({"error": str(error), "args": error.args, "logs": logs.getvalue()}, [cak])


def test_a_service_error_that_echoes_the_cak_leaves_redacted_under_its_code(
    emulated: Emulated, monkeypatch: pytest.MonkeyPatch, logs: io.StringIO
) -> None:
    # Given Secrets Manager fails GetSecretValue with an error the gateway does not type, echoing the CAK
    sm = boto3.client("secretsmanager", region_name=REGION)
    event, cak = rotation(emulated, monkeypatch, sm=sm)
    stubber = Stubber(sm)
    described = emulated.secrets.describe_secret(SecretId=event["item"]["secretArn"])
    described.pop("ResponseMetadata")
    stubber.add_response("describe_secret", described)  # Begin decides again under the lock first
    stubber.add_client_error("get_secret_value", "DecryptionFailure", f"cannot decrypt {{'cak': '{cak}'}}", 400)
    # When Begin runs
    with stubber:
        error = escaping(begin.handler, event, logs)
    # Then it leaves under the service's error code, with the service's words and no key material
    assert type(error).__name__ == "DecryptionFailure"
    assert "cannot decrypt" in str(error)
    assert_no_key_material({"error": str(error), "response": error.response, "logs": logs.getvalue()}, [cak])  # type: ignore[attr-defined]


def test_a_refusal_that_echoes_the_cak_fails_association_rejected_naming_the_ckn_not_the_cak(
    emulated: Emulated, monkeypatch: pytest.MonkeyPatch, logs: io.StringIO
) -> None:
    # Given Direct Connect refuses the new key with a message that repeats it
    event, cak = rotation(emulated, monkeypatch)
    text = f"Invalid MACsec key for {TARGET}: cak {cak} was not accepted"
    refusal = OperationFault("AssociateMacSecKey", "DirectConnectClientException", 1, text)
    emulated.backend.faults.operations.append(refusal)
    # When Begin runs
    error = escaping(begin.handler, event, logs)
    # Then the run fails AssociationRejected: the cause names the key by its CKN and keeps the service's reason
    assert isinstance(error, AssociationRejected)
    assert event["item"]["newCkn"] in str(error) and "was not accepted" in str(error)
    assert_no_key_material({"error": str(error), "logs": logs.getvalue()}, [cak])


def test_malformed_state_with_a_cak_in_a_field_is_refused_without_showing_it(
    emulated: Emulated, monkeypatch: pytest.MonkeyPatch, logs: io.StringIO
) -> None:
    event, cak = rotation(emulated, monkeypatch)
    item = {**event["item"], "targetType": cak, "poll": {"intervalSeconds": cak[:30]}}
    error = escaping(begin.handler, {**event, "item": item}, logs)
    assert type(error).__name__ == "ValidationError" and "targetType" in str(error)
    assert_no_key_material({"error": str(error), "logs": logs.getvalue()}, [cak])


def test_sdk_debug_logging_stays_off_when_the_root_logger_runs_at_debug(
    emulated: Emulated, monkeypatch: pytest.MonkeyPatch, logs: io.StringIO
) -> None:
    # Given the root logger at DEBUG (botocore logs every request body there, AssociateMacSecKey's holds the CAK)
    event, cak = rotation(emulated, monkeypatch)
    # When Begin puts the key on the connection
    assert invoked(begin.handler, event, logs)["status"] == "associating"
    # Then the function's own lines are there, and no SDK line, no CAK
    assert "key associated" in logs.getvalue()
    assert "Making request" not in logs.getvalue()
    assert_no_key_material(logs.getvalue(), [cak])


@pytest.mark.parametrize(
    "raised",
    [
        KeyError,
        lambda cak: ValueError(f"bad value {cak.upper()}", 3),
        lambda cak: FileNotFoundError(2, "No such file", f"/tmp/{cak}"),  # its text comes from attributes
    ],
    ids=["KeyError", "ValueError", "FileNotFoundError"],
)
def test_any_library_exception_leaves_a_step_under_its_own_name_without_the_cak(raised: Any, logs: io.StringIO) -> None:
    _, cak = new_key()

    @step_handler
    def failing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise raised(cak)

    error = escaping(failing, {}, logs)
    assert type(error).__name__ == type(raised(cak)).__name__
    assert "<redacted: 64 hex digits>" in str(error)
    assert_no_key_material({"error": str(error), "logs": logs.getvalue()}, [cak])


def test_our_error_keeps_its_message_and_loses_a_chained_library_error_that_echoes_the_cak(logs: io.StringIO) -> None:
    ckn, cak = new_key()

    @step_handler
    def failing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            raise OSError(5, "read failed", cak)
        except OSError as cause:
            raise InvalidInput(f"key {ckn} could not be read") from cause

    error = escaping(failing, {}, logs)
    assert isinstance(error, InvalidInput) and str(error) == f"key {ckn} could not be read"
    shown = "".join(traceback.format_exception(error))
    assert_no_key_material({"traceback": shown, "logs": logs.getvalue()}, [cak])
