"""The pieces a plan shares with the rotation: the tightening decision, and the dryRun field."""

from __future__ import annotations

import pytest

from macsec_rotation.errors import InvalidInput
from macsec_rotation.logic.encryption import decide_tightening
from macsec_rotation.logic.requests import request_from_event


@pytest.mark.parametrize(
    ("current", "wanted", "before", "down", "decided"),
    [
        ("should_encrypt", None, "should_encrypt", [], ("should_encrypt", "no encryptionMode requested", False)),
        (None, "must_encrypt", None, [], ("must_encrypt", None, True)),
        ("must_encrypt", "must_encrypt", "must_encrypt", [], ("must_encrypt", "already must_encrypt", False)),
        # Set by an earlier try of the step: not skipped.
        ("must_encrypt", "must_encrypt", "should_encrypt", [], ("must_encrypt", None, False)),
        ("must_encrypt", "should_encrypt", "must_encrypt", [], ("must_encrypt", "never loosened", False)),
        ("should_encrypt", "must_encrypt", "should_encrypt", ["dxcon-x"], ("should_encrypt", "Encryption Down", False)),
    ],
)
def test_the_tightening_decision(
    current: str | None, wanted: str | None, before: str | None, down: list[str], decided: tuple[str, str | None, bool]
) -> None:
    after, skipped, change = decide_tightening(current, wanted, before, down)  # type: ignore[arg-type]
    assert (after, change) == (decided[0], decided[2])
    assert skipped == decided[1] if decided[1] is None else decided[1] in (skipped or "")


def test_dry_run_is_a_boolean_and_false_unless_asked() -> None:
    assert request_from_event({"secretId": "macsec/x"}).dry_run is False
    assert request_from_event({"secretId": "macsec/x", "dryRun": True}).dry_run is True
    # A string is refused, never read as a real rotation.
    with pytest.raises(InvalidInput, match="dryRun"):
        request_from_event({"secretId": "macsec/x", "dryRun": "true"})
