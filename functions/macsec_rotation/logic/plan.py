"""What a rotation started now would do, decided by the rotation's own code and changing nothing: the
`macsec-rotation plan` command and a dry run (`"dryRun": true`) of the workflow."""

from __future__ import annotations

from ..errors import RotationError, reported_error_name
from ..gateways.directconnect import DirectConnectGateway
from ..gateways.secrets import SecretsGateway
from ..keys import ckn_among
from ..models import ConsoleInput, PlannedTarget, RotationPlan, RotationPreview, TargetRotation
from ..observability import logger
from ..settings import RuntimeSettings
from .encryption import decide_tightening
from .prepare import plan_rotation, replan_under_lock

# The actions after which the workflow goes on to TightenEncryption and RemoveOldKeys.
_CHANGING = ("Associate", "AwaitAssociation", "CleanUp")


def preview_request(
    request: ConsoleInput, secrets: SecretsGateway, dx: DirectConnectGateway, settings: RuntimeSettings
) -> RotationPreview:
    """Prepare's decisions, then each target's: a refusal of the request is the preview's error."""
    try:
        plan = plan_rotation(request, secrets, dx, settings)
    except RotationError as error:
        return RotationPreview(
            secret_id=request.secret_id,
            would_succeed=False,
            error=reported_error_name(error.error_name),
            cause=str(error),
        )
    return preview_plan(plan, secrets, dx, settings, secret_id=request.secret_id)


def preview_plan(
    plan: RotationPlan,
    secrets: SecretsGateway,
    dx: DirectConnectGateway,
    settings: RuntimeSettings,
    secret_id: str | None = None,
) -> RotationPreview:
    """Each target of Prepare's plan as PlanTarget would decide it (without its lock: nothing is changed, so
    nothing needs holding) and as TightenEncryption and RemoveOldKeys would then act, from what the target
    shows now."""
    targets = [_preview_target(item, secrets, dx, settings) for item in plan.targets]
    return RotationPreview(
        secret_id=secret_id or plan.secret_arn,
        secret_arn=plan.secret_arn,
        version_id=plan.version_id,
        would_succeed=all(t.error is None for t in targets),
        targets=targets,
    )


def _preview_target(
    item: TargetRotation, secrets: SecretsGateway, dx: DirectConnectGateway, settings: RuntimeSettings
) -> PlannedTarget:
    try:
        planned = replan_under_lock(item, secrets, dx, settings)
    except RotationError as error:
        return PlannedTarget(target=item.target, error=reported_error_name(error.error_name), cause=str(error))
    preview = PlannedTarget(
        target=planned.target,
        action=planned.action,
        new_ckn=planned.new_ckn,
        kept_ckns=planned.kept_ckns,
        encryption_mode_before=planned.mode_before,
        encryption_mode_after=planned.mode_before,
        router_confirmation=planned.router_confirmation,
    )
    if planned.action in _CHANGING:
        target = dx.describe(planned.target)
        after, skipped, _ = decide_tightening(
            target.encryption_mode, planned.wanted_mode, planned.mode_before, list(target.ports_down)
        )
        kept = [k.ckn for k in planned.kept_ckns]
        remove = [k.ckn for k in target.live_keys if not ckn_among(k.ckn, [planned.new_ckn, *kept])]
        preview = preview.model_copy(
            update={"remove_ckns": remove, "encryption_mode_after": after, "tightening_skipped": skipped}
        )
    logger.info("target previewed", target=preview.target, action=preview.action, error=preview.error)
    return preview
