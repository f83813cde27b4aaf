"""Runtime settings, read from the function's environment when a handler runs (never at import)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from pydantic import BaseModel, Field

from .models import Poll, RouterConfirmation


class RuntimeSettings(BaseModel):
    poll_interval_seconds: int = Field(default=10, ge=1, le=3600)
    association_timeout_seconds: int = Field(default=1800, ge=1, le=86400)
    disassociation_timeout_seconds: int = Field(default=900, ge=1, le=86400)
    encryption_settle_seconds: int = Field(default=30, ge=0, le=1800)
    max_targets_per_secret: int = Field(default=4, ge=1)
    lock_ttl_seconds: int = Field(default=5400, ge=60)
    target_tag: str = "macsec:target"
    mode_tag: str = "macsec:encryption-mode"
    binding_tag: str = "macsec:secret"  # on the Direct Connect target, set by its owner
    router_tag: str = "macsec:router-confirmation"  # on the secret: overrides router_confirmation
    router_confirmation: RouterConfirmation = "none"
    router_confirmation_timeout_seconds: int = Field(default=3600, ge=60, le=86400)
    # The watcher reads Direct Connect every tick while a wait needs it (otherwise it ticks every beat: the lock
    # and the router waits need only DynamoDB); it heartbeats each parked task every beat (well inside the
    # tasks' HeartbeatSeconds); its lease outlives a tick and the Wait between two.
    watcher_tick_seconds: int = Field(default=4, ge=1, le=60)
    watcher_beat_seconds: int = Field(default=20, ge=1)
    # A lock or a router confirmation need no Direct Connect reading (and a confirmation answers its wait itself):
    # while only they wait, the watcher ticks (and beats their tasks, whose HeartbeatSeconds is 300) once this long
    # at most, or at the nearest deadline.
    watcher_slow_beat_seconds: int = Field(default=100, ge=1)

    @classmethod
    def from_env(cls, environment: Mapping[str, str] | None = None) -> RuntimeSettings:
        """From the function's environment, or from a deployed function's variables (the operator CLI)."""
        env = os.environ if environment is None else environment
        return cls(
            poll_interval_seconds=int(env.get("POLL_INTERVAL_SECONDS", "10")),
            association_timeout_seconds=int(env.get("ASSOCIATION_TIMEOUT_SECONDS", "1800")),
            disassociation_timeout_seconds=int(env.get("DISASSOCIATION_TIMEOUT_SECONDS", "900")),
            encryption_settle_seconds=int(env.get("ENCRYPTION_SETTLE_SECONDS", "30")),
            lock_ttl_seconds=int(env.get("LOCK_TTL_SECONDS", "5400")),
            max_targets_per_secret=int(env.get("MAX_TARGETS_PER_SECRET", "4")),
            router_confirmation=env.get("ROUTER_CONFIRMATION", "none"),
            router_confirmation_timeout_seconds=int(env.get("ROUTER_CONFIRMATION_TIMEOUT_SECONDS", "3600")),
            watcher_tick_seconds=int(env.get("WATCHER_TICK_SECONDS", "4")),
            watcher_beat_seconds=int(env.get("WATCHER_BEAT_SECONDS", "20")),
        )

    @property
    def watcher_lease_seconds(self) -> int:
        """A crashed watcher's lease runs out before its parked tasks miss their heartbeat (60 s, beaten every 20 s),
        so the task that parks again can start the next watcher."""
        return max(50, 2 * self.watcher_tick_seconds + 10)

    def removal_poll(self) -> Poll:
        """Old keys leave within the disassociation timeout; then encryption must hold across the settle."""
        return self.poll_for(self.disassociation_timeout_seconds + self.encryption_settle_seconds, extra=1)

    @property
    def restore_budget_seconds(self) -> int:
        """Direct Connect may take a removed CKN back only once it is no longer listed (unpublished): the
        restore waits as long as an old key may take to go, then as long as a new key may take to associate,
        then encryption must hold across the settle."""
        return self.disassociation_timeout_seconds + self.association_timeout_seconds + self.encryption_settle_seconds

    def poll_for(self, timeout_seconds: int, extra: int = 0) -> Poll:
        """A bounded poll: enough attempts to cover the timeout, never an unbounded loop."""
        attempts = max(1, math.ceil(timeout_seconds / self.poll_interval_seconds)) + extra
        return Poll(interval_seconds=self.poll_interval_seconds, max_attempts=attempts)
