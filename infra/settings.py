"""Deployment settings: read from CDK context (cdk.json or -c key=value), validated at synth time."""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

CONTEXT_KEYS = (
    "stackName",
    "secretPrefix",
    "pollIntervalSeconds",
    "associationTimeoutSeconds",
    "disassociationTimeoutSeconds",
    "maxConcurrentTargets",
    "logRetentionDays",
    "notificationEmail",
    "managedTargets",
    "rotationDays",
    "driftCheckSchedule",
    "maxTargetsPerSecret",
    "encryptionSettleSeconds",
    "keyReaders",
    "routerConfirmation",
    "routerConfirmationTimeoutSeconds",
    "routerAutomationPrincipals",
    "routerWaitAlarmSeconds",
    "watcherTickSeconds",
    "dxRequestsPerSecond",
)
# A parked task whose watcher stopped answering misses its heartbeat after this long and parks again: a minute
# for the waits the watcher reads Direct Connect for (beaten every 20 s), five for the lock and the router waits
# (a router wait is also answered by the confirmation event at once; beaten every 100 s at most, the watcher's
# slowest tick).
PARKED_HEARTBEAT_SECONDS = 60
SLOW_PARKED_HEARTBEAT_SECONDS = 300
SLOW_CONDITIONS = ("lockFree", "routerConfirmed")
# The watcher sends a restore back to its step (a key to associate again) at most once a heartbeat period.
RESTORE_ROUND_SECONDS = 20
# The watcher's Direct Connect reads a tick (DescribeConnections and DescribeLags, one page each), and the least
# the budget must leave the rotations' steps.
WATCHER_PAGES_PER_TICK = 2
MIN_STEP_REQUESTS_PER_SECOND = 0.5
HISTORY_BUDGET = 24_000  # of Step Functions' hard limit of 25,000 events per execution
LOG_RETENTION_DAYS = (1, 7, 14, 30, 90, 180, 365, 731, 1827, 3653)
# An IAM role or user, as aws:PrincipalArn names it (an assumed role's session is named by its role's ARN).
ACCOUNT_ID = re.compile(r"\d{12}", re.ASCII)
IAM_PRINCIPAL_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)/([\w+=,.@-]+/)*[\w+=,.@-]+", re.ASCII)


class SettingsError(ValueError):
    """A context value is wrong; the message names the key and says what is allowed."""


class DeploymentSettings(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    stack_name: str = Field(default="MacsecKeyRotation", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
    secret_prefix: str = Field(default="macsec/", min_length=1, max_length=256)
    poll_interval_seconds: int = Field(default=10, ge=1, le=3600)
    association_timeout_seconds: int = Field(default=1800, ge=10, le=86400)
    disassociation_timeout_seconds: int = Field(default=900, ge=10, le=86400)
    # The targets of one secret are usually redundant links: one at a time, the next only after the previous
    # ended with every port that was encrypted encrypted again (a failed target stops the rest).
    max_concurrent_targets: int = Field(default=1, ge=1, le=40)
    log_retention_days: int = Field(default=90, ge=1)
    notification_email: str | None = None
    managed_targets: tuple[str, ...] = ()
    rotation_days: int = Field(default=30, ge=1, le=1000)
    max_targets_per_secret: int = Field(default=4, ge=1, le=40)
    drift_check_schedule: str = Field(default="rate(1 day)", pattern=r"^(rate|cron)\(.+\)$")
    # How long every port must keep encryption before "removed" or "restored" counts: port status follows a
    # key change only after MKA's timers (unpublished), so it must exceed that delay.
    encryption_settle_seconds: int = Field(default=30, ge=0, le=1800)
    # IAM roles or users besides the stack's own functions that may read the key material of the secrets the stack
    # creates (the peer router's automation, operators); everyone else is denied GetSecretValue on them.
    key_readers: tuple[str, ...] = ()
    # How the customer's router side is coordinated, unless a secret's macsec:router-confirmation tag says
    # otherwise: none (remove old keys once Direct Connect reports the new one associated) or callback (also wait
    # for the router automation's confirmation event).
    router_confirmation: Literal["none", "callback"] = "none"
    router_confirmation_timeout_seconds: int = Field(default=3600, ge=60, le=86400)
    # Who may put the confirmation on the stack's router bus: 12-digit account ids or IAM role/user ARNs;
    # empty means this account.
    router_automation_principals: tuple[str, ...] = ()
    # The RouterWaitLong alarm fires when a rotation has waited this long for the router's confirmation.
    router_wait_alarm_seconds: int = Field(default=1800, ge=60, le=86400)
    # How often the watcher reads Direct Connect while anything waits: the worst detection latency of any wait.
    watcher_tick_seconds: int = Field(default=4, ge=1, le=60)
    # The stack's Direct Connect request budget (the API's rate limits are unpublished): every call of the steps
    # waits for its turn in it; the watcher's reads are set aside from it.
    dx_requests_per_second: float = Field(default=5.0, gt=0, le=100)

    @property
    def step_requests_per_second(self) -> float:
        """The budget less the watcher's share: a listing of connections and one of LAGs a tick (one page each up
        to 100 connections and 100 LAGs), both within one second, so within any second the watcher's reads and the
        steps' calls stay inside the budget (a rate limit counted over a sliding second, as the embedded Direct
        Connect counts it, never throttles the fleet)."""
        return self.dx_requests_per_second - WATCHER_PAGES_PER_TICK

    @model_validator(mode="after")
    def _budget_leaves_room_for_the_steps(self) -> DeploymentSettings:
        if self.step_requests_per_second < MIN_STEP_REQUESTS_PER_SECOND:
            raise ValueError(
                f"dxRequestsPerSecond {self.dx_requests_per_second} leaves the rotations "
                f"{self.step_requests_per_second:.2f} requests a second once the watcher's reads "
                f"({WATCHER_PAGES_PER_TICK} a tick) are set aside: raise it"
            )
        return self

    @property
    def lock_ttl_seconds(self) -> int:
        """Longest a rotation can hold a target: association, removal, restore, plus a margin."""
        return self.association_timeout_seconds + self.removal_seconds + self.restore_seconds + 600

    @property
    def removal_seconds(self) -> int:
        """Old keys leave, then encryption must hold across the settle period."""
        return self.disassociation_timeout_seconds + self.encryption_settle_seconds

    @property
    def restore_seconds(self) -> int:
        """An old key may have to be gone before Direct Connect takes it back, then associate, then settle."""
        return self.disassociation_timeout_seconds + self.association_timeout_seconds + self.encryption_settle_seconds

    @field_validator("managed_targets", mode="before")
    @classmethod
    def _targets(cls, value: Any) -> Any:
        # `-c managedTargets=dxcon-aaaa1111,dxlag-bbbb2222` arrives as one string; cdk.json may hold a list.
        items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ValueError("must be a list of dxcon-/dxlag- ids or a comma-separated string")
        bad = [i for i in items if not isinstance(i, str) or not re.fullmatch(r"dx(con|lag)-[0-9a-z]{8}", i)]
        if bad:
            raise ValueError(f"{bad} are not dxcon-xxxxxxxx or dxlag-xxxxxxxx ids")
        if len(set(items)) != len(items):
            raise ValueError("lists a target twice")
        return tuple(items)

    @field_validator("key_readers", mode="before")
    @classmethod
    def _readers(cls, value: Any) -> Any:
        # `-c keyReaders=arn:aws:iam::111122223333:role/router-automation,...` arrives as one string.
        items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ValueError("must be a list of IAM role or user ARNs or a comma-separated string")
        bad = [i for i in items if not isinstance(i, str) or not IAM_PRINCIPAL_ARN.fullmatch(i)]
        if bad:
            raise ValueError(
                f"{bad} are not IAM role or user ARNs (arn:aws:iam::111122223333:role/NAME or :user/NAME, "
                "exact, no wildcards)"
            )
        if len(set(items)) != len(items):
            raise ValueError("lists a principal twice")
        return tuple(items)

    @field_validator("router_automation_principals", mode="before")
    @classmethod
    def _router_principals(cls, value: Any) -> Any:
        items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ValueError("must be a list of account ids or IAM role/user ARNs, or a comma-separated string")
        bad = [
            i
            for i in items
            if not isinstance(i, str) or not (ACCOUNT_ID.fullmatch(i) or IAM_PRINCIPAL_ARN.fullmatch(i))
        ]
        if bad:
            raise ValueError(
                f"{bad} are not 12-digit account ids or IAM role or user ARNs (arn:aws:iam::111122223333:role/NAME)"
            )
        if len(set(items)) != len(items):
            raise ValueError("lists a principal twice")
        return tuple(items)

    @field_validator("secret_prefix")
    @classmethod
    def _prefix_is_a_name_prefix(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9/_+=.@-]+", value):
            raise ValueError("may hold only letters, digits and /_+=.@- (a Secrets Manager name prefix)")
        if not value.endswith("/"):
            raise ValueError(
                f"must end with '/' (for example '{value}/'): every permission, event pattern and target binding "
                f"matches '<prefix>*', so without the '/' '{value}' would also match other secrets "
                f"('{value}ret-...', '{value}-db/...')"
            )
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return value

    @field_validator("notification_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError("must be an e-mail address")
        return value

    @model_validator(mode="after")
    def _waits_fit_history(self) -> DeploymentSettings:
        worst = self.worst_case_history_events
        if worst > HISTORY_BUDGET:
            raise ValueError(
                f"a rotation could write {worst} history events (maxTargetsPerSecret x the longest association, "
                "router, removal, restore and lock waits, each parked again every heartbeat period if no watcher "
                f"answered); Step Functions stops at 25,000: keep it under {HISTORY_BUDGET} with fewer targets per "
                "secret or shorter timeouts"
            )
        return self

    @property
    def worst_case_history_events(self) -> int:
        """Events one execution can write if every target waits out every bound with no watcher answering: a parked
        task whose heartbeat lapses parks again (the heartbeat failure, its exit, a Pass entered and exited, the task
        entered, scheduled, started and submitted: 9 events a heartbeat period), and a restore goes back to its step
        at most once every RESTORE_ROUND_SECONDS (about 20 events a round); the other states of an iteration write
        about 60."""

        def parks(seconds: int, heartbeat: int = PARKED_HEARTBEAT_SECONDS) -> int:
            return math.ceil(seconds / heartbeat) + 1

        # Any secret may ask for the router's confirmation by its tag, whatever the stack's default.
        parked = (
            parks(self.association_timeout_seconds)
            + parks(self.router_confirmation_timeout_seconds, SLOW_PARKED_HEARTBEAT_SECONDS)
            + parks(self.removal_seconds)
            + parks(self.lock_ttl_seconds, SLOW_PARKED_HEARTBEAT_SECONDS)
        )
        restore_rounds = math.ceil(self.restore_seconds / RESTORE_ROUND_SECONDS) + 1
        return self.max_targets_per_secret * (9 * parked + 20 * restore_rounds + 60) + 40

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> DeploymentSettings:
        if context.get("powertoolsLayerVersion") not in (None, ""):
            raise SettingsError(
                "invalid deployment settings (powertoolsLayerVersion: no longer a setting: the Powertools layer "
                "is the one published for the aws-lambda-powertools version requirements.txt pins; remove the "
                "key). See README 'Deploying'."
            )
        values = {key: context[key] for key in CONTEXT_KEYS if context.get(key) not in (None, "")}
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in issue['loc']) or 'settings'}: {issue['msg']}"
                for issue in error.errors(include_url=False)
            )
            raise SettingsError(f"invalid deployment settings ({problems}). See README 'Deploying'.") from None
