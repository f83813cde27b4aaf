"""What a run costs, from what the design deploys and what the run measured (us-east-1 list prices).

- Step Functions Standard: $25 per million state transitions; a retry is billed as a transition.
- Step Functions Express: $1 per million requests, plus duration at 64 MB ($0.00001667 per GB-second, about
  $1.04e-6 per second), billed in 100 ms increments; a run lasts at most five minutes.
- Lambda: $0.20 per million requests, plus GB-seconds of billed duration at the function's architecture's price
  (x86_64 $0.0000166667, arm64 $0.0000133334), memory from the function's MemorySize in the template.
- DynamoDB on demand: $1.25 per million write request units, $0.25 per million read request units; each call
  counted as one unit (a batch or transaction item as one, twice for transactions), since items stay small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from local.template import Template

PRICE_TRANSITION = 25.0 / 1_000_000
PRICE_EXPRESS_REQUEST = 1.0 / 1_000_000
PRICE_EXPRESS_GB_SECOND = 0.00001667
EXPRESS_MEMORY_GB = 64 / 1024
PRICE_LAMBDA_REQUEST = 0.20 / 1_000_000
PRICE_LAMBDA_GB_SECOND = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
PRICE_WRITE_UNIT = 1.25 / 1_000_000
PRICE_READ_UNIT = 0.25 / 1_000_000
DEFAULT_MEMORY_MB = 128  # CloudFormation's default MemorySize
DEFAULT_ARCHITECTURE = "x86_64"

WRITES = {"PutItem": 1, "UpdateItem": 1, "DeleteItem": 1}
READS = {"GetItem": 1, "Query": 1, "Scan": 1}


@dataclass(frozen=True)
class FunctionDeployment:
    memory_mb: int
    architecture: str

    @property
    def price_per_ms(self) -> float:
        return self.memory_mb / 1024 * PRICE_LAMBDA_GB_SECOND[self.architecture] / 1000


@dataclass(frozen=True)
class Deployment:
    """How a design deploys what it bills: its functions' memory and architecture, its state machines' types."""

    functions: dict[str, FunctionDeployment]  # by logical id
    state_machine_types: dict[str, str]  # by logical id: STANDARD or EXPRESS

    @classmethod
    def of(cls, template: Template) -> Deployment:
        functions = {}
        for logical_id, resource in template.resources("AWS::Lambda::Function").items():
            props = resource["Properties"]
            architectures = props.get("Architectures") or [DEFAULT_ARCHITECTURE]
            functions[logical_id] = FunctionDeployment(
                int(props.get("MemorySize", DEFAULT_MEMORY_MB)), architectures[0]
            )
        machines = {
            logical_id: str(resource["Properties"].get("StateMachineType", "STANDARD"))
            for logical_id, resource in template.resources("AWS::StepFunctions::StateMachine").items()
        }
        return cls(functions, machines)

    def describe(self) -> dict[str, Any]:
        shapes = sorted({(f.architecture, f.memory_mb) for f in self.functions.values()})
        return {
            "functions": len(self.functions),
            "lambda": [f"{arch} {memory} MB" for arch, memory in shapes],
            "stateMachines": dict(sorted(self.state_machine_types.items())),
        }


def dynamodb_units(calls: dict[str, int]) -> tuple[int, int]:
    """(write units, read units) of the DynamoDB calls a run made, by operation name."""
    writes = sum(count * WRITES[op] for op, count in calls.items() if op in WRITES)
    reads = sum(count * READS[op] for op, count in calls.items() if op in READS)
    writes += calls.get("BatchWriteItem.items", 0) + 2 * calls.get("TransactWriteItems.items", 0)
    reads += calls.get("BatchGetItem.items", 0) + 2 * calls.get("TransactGetItems.items", 0)
    return writes, reads


def cost(measured: dict[str, Any], deployment: Deployment) -> dict[str, float]:
    """The run's bill by item (USD). `measured` holds: standardTransitions (retries included), expressRuns and
    expressBilledMs, lambdaRequests and lambdaBilledMs by function logical id, dynamodbCalls by operation."""
    lambda_requests: dict[str, int] = measured["lambdaRequests"]
    lambda_ms: dict[str, int] = measured["lambdaBilledMs"]
    unknown = (set(lambda_requests) | set(lambda_ms)) - set(deployment.functions)
    if unknown:
        raise KeyError(f"invoked functions the template does not deploy: {sorted(unknown)}")
    writes, reads = dynamodb_units(measured["dynamodbCalls"])
    items = {
        "standardTransitions": measured["standardTransitions"] * PRICE_TRANSITION,
        "expressRequests": measured["expressRuns"] * PRICE_EXPRESS_REQUEST,
        "expressDuration": measured["expressBilledMs"] / 1000 * EXPRESS_MEMORY_GB * PRICE_EXPRESS_GB_SECOND,
        "lambdaRequests": sum(lambda_requests.values()) * PRICE_LAMBDA_REQUEST,
        "lambdaDuration": sum(ms * deployment.functions[f].price_per_ms for f, ms in lambda_ms.items()),
        "dynamodb": writes * PRICE_WRITE_UNIT + reads * PRICE_READ_UNIT,
    }
    items["total"] = sum(items.values())
    return items
