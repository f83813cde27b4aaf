"""The rotation protocol on an in-memory Secrets Manager: each step re-runnable, fields kept, keys fresh."""

from __future__ import annotations

import json

import pytest

from macsec_rotation.errors import InvalidInput, InvalidKeyMaterial
from macsec_rotation.gateways.secrets import Secret
from macsec_rotation.keys import is_hex64
from macsec_rotation.logic.rotation import rotate

TOKEN = "11111111-2222-4333-8444-555555555555"


class FakeSecrets:
    """The SecretsGateway surface the rotation uses, as Secrets Manager behaves."""

    def __init__(self, current: str | None, rotation_enabled: bool = True) -> None:
        self.values: dict[str, str | None] = {"v-current": current, TOKEN: None}
        self.stages: dict[str, list[str]] = {"v-current": ["AWSCURRENT"], TOKEN: ["AWSPENDING"]}
        self.rotation_enabled = rotation_enabled
        self.puts = 0

    def describe(self, secret_id: str) -> Secret:
        return Secret(
            arn="arn:secret:macsec/x",
            name="macsec/x",
            tags={},
            versions=dict(self.stages),
            rotation_enabled=self.rotation_enabled,
        )

    def staged_string(self, secret_arn: str, stage: str, version_id: str | None = None) -> str | None:
        for version, stages in self.stages.items():
            if stage in stages and (version_id is None or version == version_id):
                return self.values[version]
        return None

    def put_pending(self, secret_arn: str, version_id: str, secret_string: str) -> None:
        self.puts += 1
        self.values[version_id] = secret_string

    def make_current(self, secret_arn: str, version_id: str, current_version_id: str | None) -> None:
        for version in self.stages:
            self.stages[version] = [s for s in self.stages[version] if s not in ("AWSCURRENT", "AWSPREVIOUS")]
        if current_version_id:
            self.stages[current_version_id].append("AWSPREVIOUS")
        self.stages[version_id] = ["AWSCURRENT"]


def run_all(secrets: FakeSecrets) -> None:
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        rotate(step, "macsec/x", TOKEN, secrets)  # type: ignore[arg-type]


def test_a_rotation_generates_a_fresh_pair_keeps_other_fields_and_makes_it_current() -> None:
    old = {"ckn": "ab" * 32, "cak": "cd" * 32, "router": "edge-1"}
    secrets = FakeSecrets(json.dumps(old))
    run_all(secrets)
    new = json.loads(secrets.values[TOKEN] or "")
    assert new["router"] == "edge-1"
    assert is_hex64(new["ckn"]) and is_hex64(new["cak"])
    assert (new["ckn"], new["cak"]) != (old["ckn"], old["cak"])
    assert secrets.stages == {"v-current": ["AWSPREVIOUS"], TOKEN: ["AWSCURRENT"]}


def test_every_step_can_run_again_without_changing_the_outcome() -> None:
    secrets = FakeSecrets(json.dumps({"ckn": "ab" * 32, "cak": "cd" * 32}))
    rotate("createSecret", "macsec/x", TOKEN, secrets)  # type: ignore[arg-type]
    first = secrets.values[TOKEN]
    rotate("createSecret", "macsec/x", TOKEN, secrets)  # type: ignore[arg-type]
    assert secrets.values[TOKEN] == first and secrets.puts == 1
    run_all(secrets)  # all four again, finishSecret included: the version is current, nothing moves
    run_all(secrets)
    assert secrets.values[TOKEN] == first
    assert secrets.stages[TOKEN] == ["AWSCURRENT"]


def test_a_placeholder_or_malformed_current_value_still_rotates_to_a_valid_pair() -> None:
    secrets = FakeSecrets('{"ckn": "", "cak": ""}')
    run_all(secrets)
    assert is_hex64(json.loads(secrets.values[TOKEN] or "")["cak"])


def test_a_pending_value_that_is_not_key_material_fails_set_secret() -> None:
    secrets = FakeSecrets(json.dumps({"ckn": "ab" * 32, "cak": "cd" * 32}))
    secrets.values[TOKEN] = json.dumps({"ckn": "short", "cak": "also short"})
    with pytest.raises(InvalidKeyMaterial):
        rotate("setSecret", "macsec/x", TOKEN, secrets)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda s: setattr(s, "rotation_enabled", False), "rotation enabled"),
        (lambda s: s.stages.pop(TOKEN), "no stage for rotation"),
        (lambda s: s.stages.__setitem__(TOKEN, []), "not AWSPENDING"),
    ],
)
def test_the_protocol_checks_of_every_rotation_function(change: object, says: str) -> None:
    secrets = FakeSecrets(json.dumps({"ckn": "ab" * 32, "cak": "cd" * 32}))
    change(secrets)  # type: ignore[operator]
    with pytest.raises(InvalidInput, match=says):
        rotate("createSecret", "macsec/x", TOKEN, secrets)  # type: ignore[arg-type]


def test_an_unknown_step_is_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown rotation step"):
        rotate("deleteSecret", "macsec/x", TOKEN, FakeSecrets(None))  # type: ignore[arg-type]
