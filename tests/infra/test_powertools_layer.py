"""The Powertools the functions run with is the release requirements.txt pins: the one the tests run against."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from infra.functions import pinned_powertools_version, powertools_parameter_name
from infra.settings import DeploymentSettings, SettingsError
from local.template import Template

ROOT = Path(__file__).resolve().parents[2]


def pin(path: Path) -> str:
    """The single exact aws-lambda-powertools pin of a requirements file (extras allowed)."""
    found = re.findall(r"^aws-lambda-powertools(?:\[[^\]]*\])?==([^\s\\;#]+)", path.read_text(), re.MULTILINE)
    assert len(found) == 1, f"{path.name} pins aws-lambda-powertools {found}"
    return str(found[0])


PINNED = pin(ROOT / "requirements.txt")


def ssm_parameters(template: Template) -> dict[str, str]:
    """The template's SSM-backed parameters, logical id to parameter name (the CDK bootstrap version aside)."""
    return {
        logical_id: p["Default"]
        for logical_id, p in template.raw.get("Parameters", {}).items()
        if p["Type"] == "AWS::SSM::Parameter::Value<String>" and logical_id != "BootstrapVersion"
    }


def test_the_pin_is_one_release_and_the_lock_and_the_test_environment_agree() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", PINNED), PINNED  # the form the per-release parameter is named with
    assert pin(ROOT / "requirements.lock") == PINNED
    assert version("aws-lambda-powertools") == PINNED  # what the unit and scenario tests import


def test_the_layer_is_resolved_at_deploy_time_from_the_parameter_published_for_the_pinned_release(
    template: Template,
) -> None:
    # https://docs.aws.amazon.com/powertools/python/latest/getting-started/install/#using-ssm-parameter-store:
    # /aws/service/powertools/python/<architecture>/<runtime>/<semantic version, no "v", or latest>.
    (parameter,) = (
        logical_id
        for logical_id, name in ssm_parameters(template).items()
        if name.startswith("/aws/service/powertools/")
    )
    assert ssm_parameters(template)[parameter] == f"/aws/service/powertools/python/arm64/python3.11/{PINNED}"
    functions = template.resources("AWS::Lambda::Function")
    assert functions
    for logical_id, resource in functions.items():
        props = resource["Properties"]
        (architecture,) = props.get("Architectures", ["x86_64"])
        runtime = props["Runtime"]
        assert (architecture, runtime) == ("arm64", "python3.11"), logical_id  # what the parameter names
        (layer,) = props["Layers"]
        separator, parts = layer["Fn::Join"]
        assert separator == ""
        *arn_prefix, layer_version = parts
        assert arn_prefix == [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":lambda:",
            {"Ref": "AWS::Region"},
            f":017000801446:layer:AWSLambdaPowertoolsPythonV3-{runtime.replace('.', '')}-{architecture}:",
        ], logical_id
        # The published value is that layer's version ARN: its eighth field is the layer version.
        assert layer_version == {"Fn::Select": [7, {"Fn::Split": [":", {"Ref": parameter}]}]}, logical_id


def test_bumping_the_pin_moves_the_layer_and_a_loose_pin_is_refused(tmp_path: Path) -> None:
    assert pinned_powertools_version() == PINNED
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("boto3==1.44.8\naws-lambda-powertools[tracer]==3.38.1  # bumped\n")
    assert powertools_parameter_name(pinned_powertools_version(requirements)) == (
        "/aws/service/powertools/python/arm64/python3.11/3.38.1"
    )
    for loose in ("aws-lambda-powertools>=3.37\n", "boto3==1.44.8\n", "aws-lambda-powertools==3.37.0\n" * 2):
        requirements.write_text(loose)
        with pytest.raises(ValueError, match="must pin aws-lambda-powertools exactly once"):
            pinned_powertools_version(requirements)


@pytest.mark.parametrize("value", [27, "27"])
def test_the_old_layer_version_setting_is_refused_rather_than_ignored(value: Any) -> None:
    with pytest.raises(SettingsError, match="powertoolsLayerVersion: no longer a setting"):
        DeploymentSettings.from_context({"powertoolsLayerVersion": value})
