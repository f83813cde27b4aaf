"""Typed state data. Everything here travels through Step Functions and shows in the execution
history, so it holds identifiers (CKNs, ARNs, version ids) and decisions, never a CAK."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from pydantic.alias_generators import to_camel

EncryptionMode = Literal["no_encrypt", "should_encrypt", "must_encrypt"]
MODE_STRICTNESS: dict[str, int] = {"no_encrypt": 0, "should_encrypt": 1, "must_encrypt": 2}

TargetType = Literal["connection", "lag"]
Action = Literal["Associate", "AwaitAssociation", "CleanUp", "AlreadyCurrent", "Superseded"]
Outcome = Literal["Rotated", "AlreadyCurrent", "Superseded"]
# How the customer's router side is coordinated: not at all, or by the router automation's confirmation event.
RouterConfirmation = Literal["none", "callback"]


class StateModel(BaseModel):
    """camelCase on the wire (Step Functions input/output), snake_case in Python."""

    # A validation error prints the offending input value by default (up to 22 characters of it, enough for
    # part of a CAK pasted into a field); hidden, the error still names the field and what was wrong.
    # defer_build: a model is built at its first use, so a function's cold start builds only the models it uses.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, hide_input_in_errors=True, defer_build=True
    )

    def dump(self) -> dict[str, object]:
        return self.model_dump(by_alias=True, mode="json")


class ConsoleInput(StateModel):
    """What an operator types in the Step Functions console (and what events normalise to)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", hide_input_in_errors=True, defer_build=True
    )

    secret_id: str = Field(min_length=1, max_length=2048)
    target: str | None = None
    encryption_mode: EncryptionMode | None = None
    version_id: str | None = Field(default=None, min_length=1, max_length=64)
    # Plan only: report what the rotation would do and change nothing. Strict: a "true" string is refused,
    # never read as a real rotation.
    dry_run: StrictBool = False


class Poll(StateModel):
    interval_seconds: int
    max_attempts: int
    attempt: int = 0


class Failure(StateModel):
    error: str
    cause: str


class KeptKey(StateModel):
    """An old key the rotation left on the target, and why."""

    ckn: str
    reason: str


class TargetRotation(StateModel):
    """One target's rotation: the item each Map iteration carries from step to step."""

    secret_arn: str
    version_id: str
    version_pinned: bool = False  # the request named the version (events do): superseded, not re-targeted
    target: str
    target_type: TargetType
    # Known once PlanTarget has read the version under the target's lock; Prepare reads no key material.
    new_ckn: str = ""
    action: Action | None = None
    wanted_mode: EncryptionMode | None = None
    mode_before: EncryptionMode | None = None
    ports_encrypted_before: list[str] = Field(default_factory=list)
    # The keys associated (besides the new one) when the rotation planned: what the safety net restores,
    # their pairs found by CKN among the secret's versions.
    ckns_before: list[str] = Field(default_factory=list)
    mode_after: EncryptionMode | None = None
    tightening_skipped: str | None = None
    removed_ckns: list[str] = Field(default_factory=list)
    kept_ckns: list[KeptKey] = Field(default_factory=list)
    restored_ckns: list[str] = Field(default_factory=list)
    # The restore: since when (epoch seconds), the keys Direct Connect refused (with how the target listed its keys
    # then: a change of listing is worth another try) and those no version of the secret holds.
    restoring_since: float | None = None
    refused_ckns: dict[str, str] = Field(default_factory=dict)
    unrestorable_ckns: list[str] = Field(default_factory=list)
    # Since when (epoch seconds) every port that had encryption has it again, with nothing left to wait
    # for: "removed" and "restored" need it to hold across encryptionSettleSeconds.
    settled_since: float | None = None
    poll: Poll
    status: str = "pending"
    failure: Failure | None = None
    lock_owner: str | None = None
    # callback: nothing is tightened or removed before the router automation confirmed the new key, at most
    # routerConfirmationTimeoutSeconds after the workflow asked it (router_asked_at, epoch seconds).
    router_confirmation: RouterConfirmation = "none"
    router_asked_at: float | None = None
    # How long the last wait lasted (the watcher answers with it).
    waited_seconds: float | None = None

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> TargetRotation:
        """A step's state data; after a wait that ended otherwise than its usual way, the watcher's answer: the
        cause of the task failure that the workflow's Catch put under `answer`."""
        answer = state.get("answer")
        if isinstance(answer, Mapping) and isinstance(answer.get("Cause"), str):
            return cls.model_validate_json(answer["Cause"])
        return cls.model_validate(state)


class RotationPlan(StateModel):
    """Prepare's output: the normalised request and one item per target."""

    secret_arn: str
    version_id: str
    targets: list[TargetRotation]
    # Always present (the workflow's DryRun? Choice reads it; a missing field would fail the execution).
    dry_run: bool = False


class PlannedTarget(StateModel):
    """What the rotation would do on one target (a dry run, `macsec-rotation plan`), or how it would fail."""

    target: str
    action: Action | None = None
    new_ckn: str = ""
    remove_ckns: list[str] = Field(default_factory=list)
    kept_ckns: list[KeptKey] = Field(default_factory=list)
    encryption_mode_before: EncryptionMode | None = None
    encryption_mode_after: EncryptionMode | None = None
    tightening_skipped: str | None = None
    # callback: the rotation would wait for the router automation's confirmation before removing old keys.
    router_confirmation: RouterConfirmation = "none"
    error: str | None = None
    cause: str | None = None


class RotationPreview(StateModel):
    """A dry run's output: the plan per target, or the error the whole request would fail with."""

    secret_id: str
    secret_arn: str | None = None
    version_id: str | None = None
    dry_run: bool = True
    would_succeed: bool
    targets: list[PlannedTarget] = Field(default_factory=list)
    error: str | None = None
    cause: str | None = None


class TargetResult(StateModel):
    target: str
    outcome: Outcome
    new_ckn: str
    removed_ckns: list[str]
    kept_ckns: list[KeptKey] = Field(default_factory=list)
    encryption_mode_before: EncryptionMode | None
    encryption_mode_after: EncryptionMode | None
    tightening_skipped: str | None = None


class RotationResult(StateModel):
    secret_arn: str
    version_id: str
    results: list[TargetResult]
