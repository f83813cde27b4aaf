"""The runner's shortcuts past moto's APIs give what the APIs give: a user would see the same."""

from __future__ import annotations

import json

from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

from local import patches
from local.scenario import parse
from local.simulation import scenario_world
from tests.conftest import new_key

OLD, NEW = new_key(), new_key()
SCENARIO = {
    "connections": [{"id": "dxcon-aaaa1111", "keys": [{"ckn": OLD[0], "cak": OLD[1]}]}],
    "secrets": [
        {
            "name": "macsec/dxcon-aaaa1111",
            "tags": {"macsec:target": "dxcon-aaaa1111"},
            "versions": [
                {"id": "v1", "value": {"ckn": OLD[0], "cak": OLD[1]}, "stages": ["AWSPREVIOUS"]},
                {"id": "v2", "value": {"ckn": NEW[0], "cak": NEW[1]}, "stages": ["AWSCURRENT"]},
            ],
        }
    ],
    "events": [{"type": "console", "name": "rotate", "input": {"secretId": "macsec/dxcon-aaaa1111"}}],
}


def test_the_history_the_runner_reads_is_the_history_the_api_returns() -> None:
    # Reports and key-material scans read history from moto's backend; GetExecutionHistory must agree.
    with scenario_world(parse(SCENARIO)) as aws:
        (record,) = aws.executions.values()
        from_backend, from_api = aws.history(record.arn), aws.history_via_api(record.arn)
    assert len(from_api) > 20
    assert from_backend == from_api


def test_a_lambda_task_gets_what_lambda_invoke_returns_for_results_and_for_errors() -> None:
    with scenario_world(parse(SCENARIO)) as aws:
        prepare = aws.template.function_arn(
            aws.dispatcher.function_for_step("prepare").logical_id, aws.region, aws.account
        )
        for event in [{"secretId": "macsec/dxcon-aaaa1111"}, {"secretId": 42}]:  # a plan, then InvalidInput
            parameters = {"FunctionName": prepare, "Payload": json.dumps(event).encode()}
            direct = lambda_eval_utils._invoke_lambda_function(parameters, aws.region, None)
            via_api = patches.ORIGINAL_TASK_INVOKE(parameters, aws.region, None)
            via_api = {k: v for k, v in via_api.items() if k != "ResponseMetadata"}
            if event["secretId"] == 42:
                assert direct["FunctionError"] == "Unhandled"
                direct["Payload"].pop("requestId"), via_api["Payload"].pop("requestId")
                direct["Payload"].pop("stackTrace"), via_api["Payload"].pop("stackTrace")
            assert direct == via_api
