"""The synthesized CloudFormation template, read the way the local runner needs it."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SYNTH_CONTEXT = {"aws:cdk:enable-asset-metadata": True}
CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"
DEFAULT_BUS = "default"


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    environment: dict[str, str]
    asset_dir: Path

    @property
    def module(self) -> str:
        """The handler's module, e.g. macsec_rotation.handlers.associate."""
        return self.handler.rsplit(".", 1)[0]

    @property
    def step(self) -> str:
        """The step the function runs: its handler module's own name (associate, check_removal, ...)."""
        return self.module.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class RuleSpec:
    logical_id: str
    pattern: dict[str, Any]
    target_functions: tuple[str, ...]  # logical ids of the Lambda functions the rule invokes
    bus: str = DEFAULT_BUS  # the name of the event bus the rule listens on


class Template:
    def __init__(self, template: dict[str, Any], outdir: Path) -> None:
        self.raw = template
        self.outdir = outdir

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.raw["Resources"].items() if v["Type"] == kind}

    def functions(self, region: str, account: str) -> dict[str, FunctionSpec]:
        specs = {}
        for logical_id, resource in self.resources("AWS::Lambda::Function").items():
            props = resource["Properties"]
            asset = resource.get("Metadata", {}).get("aws:asset:path")
            if asset is None:
                raise RuntimeError(f"{logical_id} has no aws:asset:path; synthesize with {SYNTH_CONTEXT}")
            specs[logical_id] = FunctionSpec(
                logical_id=logical_id,
                handler=props["Handler"],
                environment={
                    name: self.resolve(value, region, account)
                    for name, value in props.get("Environment", {}).get("Variables", {}).items()
                },
                asset_dir=self.outdir / asset,
            )
        return specs

    def state_machine_logical_id(self) -> str:
        """The rotation workflow (the Standard state machine; the watcher is an Express one)."""
        machines = self.resources("AWS::StepFunctions::StateMachine")
        (logical_id,) = [k for k, v in machines.items() if v["Properties"].get("StateMachineType") != "EXPRESS"]
        return logical_id

    def express_machines(self) -> dict[str, str]:
        """The Express state machines (the watcher) by logical id, with their names."""
        machines = self.resources("AWS::StepFunctions::StateMachine")
        return {
            k: v["Properties"].get("StateMachineName", k)
            for k, v in machines.items()
            if v["Properties"].get("StateMachineType") == "EXPRESS"
        }

    def definition(self, region: str, account: str, logical_id: str | None = None) -> dict[str, Any]:
        machine = logical_id or self.state_machine_logical_id()
        props = self.resources("AWS::StepFunctions::StateMachine")[machine]["Properties"]
        definition: dict[str, Any] = json.loads(self.resolve(props["DefinitionString"], region, account))
        return definition

    def rules(self, region: str, account: str) -> list[RuleSpec]:
        functions = self.resources("AWS::Lambda::Function")
        rules = []
        for logical_id, resource in self.resources("AWS::Events::Rule").items():
            if "EventPattern" not in resource["Properties"]:
                continue  # a schedule
            arns = [t.get("Arn", {}) for t in resource["Properties"].get("Targets", [])]
            targets = tuple(a["Fn::GetAtt"][0] for a in arns if a.get("Fn::GetAtt", [None])[0] in functions)
            bus = resource["Properties"].get("EventBusName")
            rules.append(
                RuleSpec(
                    logical_id,
                    self._resolve_tree(resource["Properties"]["EventPattern"], region, account),
                    targets,
                    bus_name(self.resolve(bus, region, account)) if bus is not None else DEFAULT_BUS,
                )
            )
        return rules

    def event_buses(self) -> dict[str, str]:
        """The event buses the stack creates, by logical id: their names (the default bus is not among them)."""
        return {logical_id: self._bus_name(logical_id) for logical_id in self.resources("AWS::Events::EventBus")}

    def _bus_name(self, logical_id: str) -> str:
        name = self.raw["Resources"][logical_id]["Properties"]["Name"]
        if not isinstance(name, str):
            raise ValueError(f"cannot resolve the name of event bus {logical_id} locally")
        return name

    def tables(self) -> dict[str, dict[str, Any]]:
        """DynamoDB tables by logical id (their Ref, and so their name here), with their properties."""
        found = {**self.resources("AWS::DynamoDB::Table"), **self.resources("AWS::DynamoDB::GlobalTable")}
        return {logical_id: resource["Properties"] for logical_id, resource in found.items()}

    def topic_names(self) -> list[str]:
        return list(self.resources("AWS::SNS::Topic"))

    # ---- intrinsic functions ----

    def function_arn(self, logical_id: str, region: str, account: str) -> str:
        return f"arn:aws:lambda:{region}:{account}:function:{logical_id}"

    def resolve(self, value: Any, region: str, account: str) -> str:
        resolved = self._resolve_tree(value, region, account)
        if not isinstance(resolved, str):
            raise TypeError(f"expected a string after resolving, got {type(resolved).__name__}")
        return resolved

    def _resolve_tree(self, value: Any, region: str, account: str) -> Any:
        if isinstance(value, list):
            return [self._resolve_tree(v, region, account) for v in value]
        if not isinstance(value, dict):
            return value
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self._resolve_tree(p, region, account)) for p in parts)
        if "Ref" in value:
            return self._ref(value["Ref"], region, account)
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            if attribute == "Arn" and logical_id in self.resources("AWS::Lambda::Function"):
                return self.function_arn(logical_id, region, account)
            if logical_id in self.resources("AWS::Events::EventBus") and attribute in ("Arn", "Name"):
                name = self._bus_name(logical_id)
                return f"arn:aws:events:{region}:{account}:event-bus/{name}" if attribute == "Arn" else name
            raise ValueError(f"cannot resolve Fn::GetAtt {logical_id}.{attribute} locally")
        return {k: self._resolve_tree(v, region, account) for k, v in value.items()}

    def _ref(self, name: str, region: str, account: str) -> str:
        pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        resource = self.raw["Resources"].get(name)
        if resource is None:
            raise ValueError(f"cannot resolve Ref {name} locally")
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            machine = resource["Properties"].get("StateMachineName", name)
            return f"arn:aws:states:{region}:{account}:stateMachine:{machine}"
        if resource["Type"] == "AWS::SNS::Topic":
            return f"arn:aws:sns:{region}:{account}:{name}"
        if resource["Type"] == "AWS::Events::EventBus":  # an event bus's Ref is its name
            return self._bus_name(name)
        return name


def bus_name(name_or_arn: str | None) -> str:
    """The bus an EventBusName (a name or an ARN, as PutEvents and rules accept it) designates."""
    return (name_or_arn or DEFAULT_BUS).rsplit("/", 1)[-1]


# What a synthesized template depends on: a synth is kept on disk under a fingerprint of these (and of the
# context and the CDK libraries' versions), so the tests' processes and the CLI's --local runs synthesize once.
ROOT = CDK_JSON.parent
SYNTH_INPUTS = ("app.py", "cdk.json", "requirements.txt", "infra", "functions")
SYNTH_CACHE = ROOT / ".synth-cache"


@functools.lru_cache(maxsize=4)
def synthesize(context_items: tuple[tuple[str, Any], ...] = ()) -> Template:
    """Synthesize the real app once per process and context (jsii start-up dominates the cost), or take the
    synth an earlier process made of the same sources and context."""
    cached = SYNTH_CACHE / _fingerprint(context_items)
    if (cached / TEMPLATE_FILE).is_file():
        return Template(json.loads((cached / TEMPLATE_FILE).read_text()), cached)
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    # jsii starts a node process on import: pay for it only when a synth is asked for
    from aws_cdk.assertions import Template as CdkTemplate  # noqa: PLC0415

    from infra.app import build_app  # noqa: PLC0415

    outdir = Path(tempfile.mkdtemp(prefix="macsec-synth-"))
    # The same context the CDK CLI passes: cdk.json's, then the caller's (as -c would).
    project_context = json.loads(CDK_JSON.read_text()).get("context", {})
    _, stack = build_app({**project_context, **SYNTH_CONTEXT, **dict(context_items)}, outdir=str(outdir))
    template = CdkTemplate.from_stack(stack).to_json()
    (outdir / TEMPLATE_FILE).write_text(json.dumps(template))
    SYNTH_CACHE.mkdir(exist_ok=True)
    with contextlib.suppress(OSError):  # another process kept the same synth first: either is as good
        os.rename(outdir, cached)
    return Template(template, cached if cached.is_dir() else outdir)


TEMPLATE_FILE = "template.local.json"


def _fingerprint(context_items: tuple[tuple[str, Any], ...]) -> str:
    digest = hashlib.sha256(json.dumps(context_items, sort_keys=True, default=str).encode())
    for name in ("aws-cdk-lib", "cdk-nag", "constructs"):
        digest.update(f"{name}=={importlib.metadata.version(name)}".encode())
    for entry in SYNTH_INPUTS:
        path = ROOT / entry
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and file.suffix in (".py", ".json", ".txt") and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:32]
