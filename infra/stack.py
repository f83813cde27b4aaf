"""The stack: functions, workflow and their permissions, wired together."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from .functions import StepFunctions
from .permissions import grant_step_permissions
from .settings import DeploymentSettings
from .triggers import RotationTriggers
from .workflow import RotationWorkflow

# step module under functions/macsec_rotation/handlers -> what it does (the function's description)
STEPS = {
    "prepare": "Resolve secret, version and targets; decide what to do",
    "associate": "Associate the new CKN/CAK with the target",
    "check_association": "Poll the new key until it is associated",
    "roll_back": "Remove a new key that never became associated",
    "tighten_encryption": "Tighten encryptionMode when every port is encrypted",
    "remove_old_keys": "Disassociate superseded keys",
    "check_removal": "Poll until old keys are gone; watch port encryption",
    "restore_previous": "Re-associate the AWSPREVIOUS key after encryption went down",
    "check_restore": "Poll until encryption is back after a restore",
    "report": "Summarise a finished rotation",
    "report_failure": "Turn a caught error into a clean error and cause",
}


class MacsecRotationStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, settings: DeploymentSettings, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        factory = StepFunctions(self, "Functions", settings)
        functions = {step: factory.function(step, description) for step, description in STEPS.items()}
        grant_step_permissions(self, functions, settings)
        workflow = RotationWorkflow(self, "Workflow", settings, functions)
        RotationTriggers(self, "Triggers", settings, workflow.state_machine)
        self.state_machine = workflow.state_machine
