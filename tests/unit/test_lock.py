"""The per-target lock on DynamoDB (moto): exclusive, re-entrant for its owner, expiring; a second execution is told
to wait (the watcher's lockFree condition takes the lock for it: tests/unit/test_loop_bounds.py)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from macsec_rotation import clock
from macsec_rotation.gateways.locks import LocksGateway
from macsec_rotation.logic.lock import acquire_lock, release_lock
from macsec_rotation.models import Poll, TargetRotation
from macsec_rotation.settings import RuntimeSettings
from tests.conftest import ManualClock

TARGET = "dxcon-aaaa1111"
SETTINGS = RuntimeSettings(lock_ttl_seconds=120)


@pytest.fixture
def locks(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocksGateway]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName="locks",
            KeySchema=[{"AttributeName": "target", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "target", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield LocksGateway(client, "locks")


@pytest.fixture
def manual_clock() -> Iterator[ManualClock]:
    manual = ManualClock()
    previous = clock.use(manual)
    yield manual
    clock.use(previous)


def item() -> TargetRotation:
    return TargetRotation(
        secret_arn="arn",
        version_id="v",
        target=TARGET,
        target_type="connection",
        new_ckn="ab" * 32,
        action="Associate",
        poll=Poll(interval_seconds=10, max_attempts=3),
    )


def test_one_holder_at_a_time_and_the_other_is_told_to_wait(locks: LocksGateway, manual_clock: ManualClock) -> None:
    first = acquire_lock(item(), locks, "exec-A", SETTINGS)
    assert (first.status, first.lock_owner) == ("locked", "exec-A")
    assert acquire_lock(first, locks, "exec-A", SETTINGS).status == "locked"  # re-entrant: a retried step
    waiting = acquire_lock(item(), locks, "exec-B", SETTINGS)
    # The waiter is named (its parked wait and an abort are found by it), but holds nothing.
    assert (waiting.status, waiting.lock_owner, waiting.failure) == ("waitingForLock", "exec-B", None)
    assert locks.holder(TARGET, manual_clock.now()) == "exec-A"
    # Asking again (a retried step) still waits: nothing is counted, the wait's bound is the watcher's.
    assert acquire_lock(waiting, locks, "exec-B", SETTINGS).status == "waitingForLock"
    assert locks.holder(TARGET, manual_clock.now()) == "exec-A"


def test_the_holder_is_read_without_taking_the_lock(locks: LocksGateway, manual_clock: ManualClock) -> None:
    now = manual_clock.now()
    assert locks.holder(TARGET, now) is None
    assert locks.acquire(TARGET, "exec-A", now, now + 120) is None
    assert locks.holder(TARGET, now + 120) == "exec-A"  # held up to its expiry
    assert locks.holder(TARGET, now + 121) is None  # expired: free for the taking, though still stored
    assert locks.acquire(TARGET, "exec-B", now + 120, now + 240) == "exec-A"
    assert locks.acquire(TARGET, "exec-B", now + 121, now + 241) is None


def test_release_frees_the_target_and_only_its_owner_can(locks: LocksGateway, manual_clock: ManualClock) -> None:
    held = acquire_lock(item(), locks, "exec-A", SETTINGS)
    release_lock(item(), locks, "exec-B", None)  # not B's to give back
    assert acquire_lock(item(), locks, "exec-B", SETTINGS).status == "waitingForLock"
    release_lock(held, locks, "exec-A", None)
    release_lock(held, locks, "exec-A", None)  # twice is harmless
    assert acquire_lock(item(), locks, "exec-B", SETTINGS).status == "locked"


def test_a_failed_step_whose_input_predates_the_lock_still_releases_it(
    locks: LocksGateway, manual_clock: ManualClock
) -> None:
    # The caught error's input is the item before AcquireLock answered: no lock owner in it, the execution is.
    acquire_lock(item(), locks, "exec-A", SETTINGS)
    released = release_lock(item(), locks, "exec-A", {"Error": "States.Timeout", "Cause": "the task timed out"})
    assert locks.holder(TARGET, manual_clock.now()) is None
    assert released.failure is not None and "States.Timeout" in released.failure.cause


def test_a_crashed_holders_lock_expires(locks: LocksGateway, manual_clock: ManualClock) -> None:
    acquire_lock(item(), locks, "exec-A", SETTINGS)
    manual_clock.advance(121)
    taken = acquire_lock(item(), locks, "exec-B", SETTINGS)
    assert (taken.status, taken.lock_owner) == ("locked", "exec-B")


def test_release_after_an_error_keeps_the_error_as_the_failure(locks: LocksGateway, manual_clock: ManualClock) -> None:
    held = acquire_lock(item(), locks, "exec-A", SETTINGS)
    released = release_lock(held, locks, "exec-A", {"Error": "KeyError", "Cause": '{"errorMessage": "boom"}'})
    assert released.failure is not None and released.failure.error == "KeyError"
    assert acquire_lock(item(), locks, "exec-B", SETTINGS).status == "locked"


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_lock_table_throttling_left_after_sdk_retries_is_retried_by_the_state_machine(code: str) -> None:
    # An on-demand table still throttles under a burst; the lock steps must not fail the rotation on it.
    from botocore.stub import Stubber  # noqa: PLC0415

    from macsec_rotation.errors import ThrottlingException  # noqa: PLC0415

    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    with Stubber(client) as stub:
        stub.add_client_error("delete_item", service_error_code=code, http_status_code=400)
        stub.add_client_error("put_item", service_error_code=code, http_status_code=400)
        stub.add_client_error("get_item", service_error_code=code, http_status_code=400)
        gateway = LocksGateway(client, "locks")
        with pytest.raises(ThrottlingException, match="throttled"):
            gateway.release(TARGET, "owner")
        with pytest.raises(ThrottlingException, match="throttled"):
            gateway.acquire(TARGET, "owner", now=0, expires_at=120)
        with pytest.raises(ThrottlingException, match="throttled"):  # the watcher's look at a waited-for lock
            gateway.holder(TARGET, now=0)


def test_an_abort_request_is_per_execution_and_ends_the_rotation_before_it_takes_the_lock(
    locks: LocksGateway, manual_clock: ManualClock
) -> None:
    held = acquire_lock(item(), locks, "exec-A", SETTINGS)
    assert not locks.abort_requested("exec-B") and not locks.abort_requested(None)
    locks.request_abort("exec-B", now=0)
    assert locks.abort_requested("exec-B") and not locks.abort_requested("exec-A")
    aborted = acquire_lock(item(), locks, "exec-B", SETTINGS)
    assert (aborted.status, aborted.lock_owner) == ("aborted", None)
    assert aborted.failure is not None and aborted.failure.error == "Aborted" and TARGET in aborted.failure.cause
    # The holder is untouched, and the request is not a lock: the target stays A's until A releases it.
    assert acquire_lock(held, locks, "exec-A", SETTINGS).status == "locked"
    release_lock(held, locks, "exec-A", None)
    assert acquire_lock(item(), locks, "exec-C", SETTINGS).status == "locked"
    stored = locks._client.get_item(TableName="locks", Key={"target": {"S": "abort#exec-B"}})["Item"]
    assert int(stored["expiresAt"]["N"]) == 24 * 3600  # a day after the request (TTL)


def test_an_aborted_execution_takes_a_free_lock_no_more(locks: LocksGateway, manual_clock: ManualClock) -> None:
    # An abort asked for before the lock step runs: the target stays free for the next rotation.
    locks.request_abort("exec-B", now=manual_clock.now())
    assert acquire_lock(item(), locks, "exec-B", SETTINGS).status == "aborted"
    assert locks.holder(TARGET, manual_clock.now()) is None
