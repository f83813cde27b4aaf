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
    "lockPollSeconds",
    "driftCheckSchedule",
    "maxTargetsPerSecret",
    "encryptionSettleSeconds",
    "keyReaders",
    "routerConfirmation",
    "routerConfirmationTimeoutSeconds",
    "routerAutomationPrincipals",
    "routerWaitAlarmSeconds",
    "watcherTickSeconds",
)
# A router wait parks in rounds of at most this long; each renews the target's lock and checks the deadline.
ROUTER_ROUND_SECONDS = 600
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
    lock_poll_seconds: int = Field(default=60, ge=5, le=600)
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

    @property
    def lock_ttl_seconds(self) -> int:
        """Longest a rotation can hold a target: association, removal, restore, plus a margin."""
        return self.association_timeout_seconds + self.removal_seconds + self.restore_seconds + 600

    @property
    def router_round_seconds(self) -> int:
        """The router wait's timeout in equal rounds of at most ROUTER_ROUND_SECONDS, so that the last one ends at
        the deadline (give or take the seconds each round's function takes)."""
        timeout = self.router_confirmation_timeout_seconds
        return math.ceil(timeout / math.ceil(timeout / ROUTER_ROUND_SECONDS))

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
    def _polls_fit_history(self) -> DeploymentSettings:
        worst = self.worst_case_history_events
        if worst > HISTORY_BUDGET:
            raise ValueError(
                f"a rotation could write {worst} history events (maxTargetsPerSecret x the longest association, "
                "router, removal, restore and lock waits at pollIntervalSeconds / lockPollSeconds); Step Functions "
                f"stops at 25,000: keep it under {HISTORY_BUDGET} with fewer targets per secret, shorter timeouts "
                "or longer intervals"
            )
        return self

    @property
    def worst_case_history_events(self) -> int:
        """Events one execution can write if every target waits out every bound (a Wait, a Lambda task and a
        Choice write 9 events a round; the other states of an iteration about 60)."""

        def rounds_for(seconds: int) -> int:
            return math.ceil(seconds / self.poll_interval_seconds) + 1

        # Any secret may ask for the router's confirmation by its tag, whatever the stack's default: a parked
        # round (entered, scheduled, started, submitted, timed out, exited, and the Pass to the next round) writes 8
        # events, asking it 5.
        rounds_parked = math.ceil(self.router_confirmation_timeout_seconds / self.router_round_seconds)
        router_events = 8 * (rounds_parked + 1) + 5
        rounds = (
            rounds_for(self.association_timeout_seconds)
            + rounds_for(self.removal_seconds)
            + rounds_for(self.restore_seconds)
            + math.ceil(self.lock_ttl_seconds / self.lock_poll_seconds)
        )
        return self.max_targets_per_secret * (9 * rounds + 60 + router_events) + 40

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
