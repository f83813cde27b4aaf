"""The Direct Connect emulator, one fidelity rule of DOMAIN.md at a time."""

from __future__ import annotations

import json
from typing import Any

import botocore.config
import botocore.session
import pytest
from botocore.exceptions import ClientError

from local.directconnect import Behaviour, Connection, Lag, OperationFault
from local.scenario import parse
from tests.conftest import Emulated, new_key

CONNECTION, LAG, MEMBERS = "dxcon-aaaa1111", "dxlag-bbbb2222", ["dxcon-cccc3333", "dxcon-dddd4444"]


def connection(emulated: Emulated, **overrides: Any) -> Connection:
    spec = {"target_id": CONNECTION, "name": "c", "mac_sec_capable": True, "encryption_mode": "should_encrypt"}
    item = Connection(**{**spec, **overrides})
    emulated.backend.add_connection(item)
    return item


def lag(emulated: Emulated, **overrides: Any) -> Lag:
    spec = {
        "target_id": LAG,
        "name": "l",
        "mac_sec_capable": True,
        "encryption_mode": "should_encrypt",
        "member_ids": list(MEMBERS),
    }
    item = Lag(**{**spec, **overrides})
    emulated.backend.add_lag(item)
    return item


def error_of(call: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]


def keys_of(emulated: Emulated, target: str = CONNECTION) -> list[dict[str, str]]:
    if target.startswith("dxlag-"):
        return emulated.dx.describe_lags(lagId=target)["lags"][0]["macSecKeys"]
    return emulated.dx.describe_connections(connectionId=target)["connections"][0]["macSecKeys"]


def test_ids_have_the_real_format(emulated: Emulated) -> None:
    with pytest.raises(ValueError, match="dxcon-xxxxxxxx"):
        connection(emulated, target_id="dx-moto-1")
    connection(emulated)
    lag(emulated)
    assert [c["connectionId"] for c in emulated.dx.describe_connections()["connections"]] == [CONNECTION, *MEMBERS]
    assert emulated.dx.describe_lags()["lags"][0]["lagId"] == LAG


def test_unknown_ids_are_client_exceptions(emulated: Emulated) -> None:
    for call, kwargs in [
        (emulated.dx.describe_connections, {"connectionId": "dxcon-ffff0000"}),
        (emulated.dx.describe_lags, {"lagId": "dxlag-ffff0000"}),
        (emulated.dx.associate_mac_sec_key, {"connectionId": "dxcon-ffff0000", "ckn": "a" * 64, "cak": "b" * 64}),
    ]:
        assert error_of(call, **kwargs)["Code"] == "DirectConnectClientException"


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"ckn": "a" * 63, "cak": "b" * 64}, "ckn must be 64"),
        ({"ckn": "a" * 64, "cak": "z" * 64}, "cak must be 64"),
        ({"ckn": "a" * 64}, "both ckn and cak"),
        ({"ckn": "a" * 64, "cak": "b" * 64, "secretARN": "arn:aws:secretsmanager:x"}, "not both"),
        ({}, "both ckn and cak"),
    ],
)
def test_key_material_is_validated(emulated: Emulated, arguments: dict[str, str], says: str) -> None:
    connection(emulated)
    error = error_of(emulated.dx.associate_mac_sec_key, connectionId=CONNECTION, **arguments)
    assert error["Code"] == "DirectConnectClientException"
    assert says in error["Message"]


def test_upper_case_hex_is_accepted_and_a_ckn_already_on_the_target_is_refused(emulated: Emulated) -> None:
    connection(emulated)
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn="AB" * 32, cak="CD" * 32)
    error = error_of(emulated.dx.associate_mac_sec_key, connectionId=CONNECTION, ckn="ab" * 32, cak="ef" * 32)
    assert "already associated" in error["Message"]


def test_a_target_without_macsec_refuses_keys_and_modes(emulated: Emulated) -> None:
    connection(emulated, mac_sec_capable=False)
    ckn, cak = new_key()
    assert (
        "does not support MACsec"
        in error_of(emulated.dx.associate_mac_sec_key, connectionId=CONNECTION, ckn=ckn, cak=cak)["Message"]
    )
    assert (
        "does not support MACsec"
        in error_of(emulated.dx.update_connection, connectionId=CONNECTION, encryptionMode="must_encrypt")["Message"]
    )


def test_the_keychain_holds_three_keys(emulated: Emulated) -> None:
    connection(emulated)
    for _ in range(3):
        ckn, cak = new_key()
        emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=cak)
    ckn, cak = new_key()
    error = error_of(emulated.dx.associate_mac_sec_key, connectionId=CONNECTION, ckn=ckn, cak=cak)
    assert "already has 3 MACsec keys" in error["Message"]


def test_each_association_gets_its_own_managed_secret_holding_the_pair(emulated: Emulated) -> None:
    connection(emulated)
    pairs = [new_key(), new_key()]
    for ckn, cak in pairs:
        emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=cak)
    arns = [k["secretARN"] for k in keys_of(emulated)]
    assert len(set(arns)) == 2
    for arn, (ckn, cak) in zip(arns, pairs, strict=True):
        described = emulated.secrets.describe_secret(SecretId=arn)
        assert {"Key": "aws:secretsmanager:owningService", "Value": "directconnect"} in described["Tags"]
        assert json.loads(emulated.secrets.get_secret_value(SecretId=arn)["SecretString"]) == {"ckn": ckn, "cak": cak}
    response = emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=new_key()[0], cak=new_key()[1])
    assert all("cak" not in key for key in response["macSecKeys"])


def test_secret_arn_form_accepts_only_a_direct_connect_secret(emulated: Emulated) -> None:
    connection(emulated)
    lag(emulated)
    customer = emulated.secret("macsec/mine", {"ckn": "a" * 64, "cak": "b" * 64})
    assert (
        "created by Direct Connect"
        in error_of(emulated.dx.associate_mac_sec_key, connectionId=CONNECTION, secretARN=customer)["Message"]
    )
    ckn, cak = new_key()
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=cak)
    managed = keys_of(emulated)[0]["secretARN"]
    emulated.dx.associate_mac_sec_key(connectionId=LAG, secretARN=managed)
    assert keys_of(emulated, LAG)[0]["ckn"] == ckn


def test_key_states_follow_the_clock_and_disassociated_keys_disappear(emulated: Emulated) -> None:
    connection(emulated)
    emulated.backend.behaviour.association_seconds = 120
    emulated.backend.behaviour.disassociation_seconds = 20
    ckn, cak = new_key()
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=cak)
    assert keys_of(emulated)[0]["state"] == "associating"
    emulated.clock.advance(119)
    assert keys_of(emulated)[0]["state"] == "associating"
    emulated.clock.advance(1)
    assert keys_of(emulated)[0]["state"] == "associated"
    arn = keys_of(emulated)[0]["secretARN"]
    response = emulated.dx.disassociate_mac_sec_key(connectionId=CONNECTION, secretARN=arn)
    assert response["macSecKeys"][0]["state"] == "disassociating"
    assert (
        "already being disassociated"
        in error_of(emulated.dx.disassociate_mac_sec_key, connectionId=CONNECTION, secretARN=arn)["Message"]
    )
    emulated.clock.advance(20)
    assert keys_of(emulated) == []
    with pytest.raises(ClientError):  # Direct Connect deletes its managed secret with the key
        emulated.secrets.describe_secret(SecretId=arn)


def test_disassociation_takes_the_secret_arn_not_the_ckn(emulated: Emulated) -> None:
    connection(emulated)
    ckn, cak = new_key()
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=cak)
    assert (
        "is not associated"
        in error_of(emulated.dx.disassociate_mac_sec_key, connectionId=CONNECTION, secretARN=ckn)["Message"]
    )


def test_removing_the_last_key_under_must_encrypt_sets_should_encrypt(emulated: Emulated) -> None:
    item = connection(emulated, encryption_mode="must_encrypt")
    emulated.backend.seed_key(item, *new_key())
    arn = keys_of(emulated)[0]["secretARN"]
    emulated.dx.disassociate_mac_sec_key(connectionId=CONNECTION, secretARN=arn)
    described = emulated.dx.describe_connections(connectionId=CONNECTION)["connections"][0]
    assert described["encryptionMode"] == "should_encrypt"


def test_port_encryption_needs_an_associated_key_that_the_router_also_has(emulated: Emulated) -> None:
    item = connection(emulated, encryption_mode="must_encrypt")
    on_router, off_router = new_key(), new_key()
    item.router_ckns = {on_router[0]}
    emulated.backend.seed_key(item, *off_router)

    def port() -> tuple[str, str]:
        described = emulated.dx.describe_connections(connectionId=CONNECTION)["connections"][0]
        return described["portEncryptionStatus"], described["connectionState"]

    assert port() == ("Encryption Down", "down")  # must_encrypt: no encryption, no link
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=on_router[0], cak=on_router[1])
    assert port() == ("Encryption Down", "down")  # still associating
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    assert port() == ("Encryption Up", "available")
    item.state = "down"
    assert port()[0] == "Encryption Down"


def test_a_lag_has_members_keys_apply_to_all_and_update_lag_sets_every_mode(emulated: Emulated) -> None:
    item = lag(emulated)
    ckn, cak = new_key()
    item.router_ckns = {ckn}
    emulated.dx.associate_mac_sec_key(connectionId=LAG, ckn=ckn, cak=cak)
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    described = emulated.dx.describe_lags(lagId=LAG)["lags"][0]
    assert "portEncryptionStatus" not in described  # connections only, not LAGs
    assert [(m["connectionId"], m["lagId"], m["portEncryptionStatus"]) for m in described["connections"]] == [
        (MEMBERS[0], LAG, "Encryption Up"),
        (MEMBERS[1], LAG, "Encryption Up"),
    ]
    emulated.dx.update_lag(lagId=LAG, encryptionMode="must_encrypt")
    modes = {c["connectionId"]: c["encryptionMode"] for c in emulated.dx.describe_connections()["connections"]}
    assert modes == {MEMBERS[0]: "must_encrypt", MEMBERS[1]: "must_encrypt"}
    assert (
        "set encryptionMode on the LAG"
        in error_of(emulated.dx.update_connection, connectionId=MEMBERS[0], encryptionMode="no_encrypt")["Message"]
    )
    assert (
        "associate the key with the LAG"
        in error_of(emulated.dx.associate_mac_sec_key, connectionId=MEMBERS[0], ckn=new_key()[0], cak=new_key()[1])[
            "Message"
        ]
    )
    assert "wrong kind of target" in error_of(emulated.dx.update_lag, lagId=MEMBERS[0])["Message"]


def test_an_unknown_encryption_mode_is_refused(emulated: Emulated) -> None:
    connection(emulated)
    assert (
        "encryptionMode must be one of"
        in error_of(emulated.dx.update_connection, connectionId=CONNECTION, encryptionMode="encrypt_please")["Message"]
    )


def test_requests_above_the_configured_rate_are_throttled(emulated: Emulated) -> None:
    connection(emulated)
    emulated.backend.behaviour.api_rate_per_second = 2
    emulated.dx.describe_connections(connectionId=CONNECTION)
    emulated.dx.describe_connections(connectionId=CONNECTION)
    raw = botocore.session.get_session().create_client(
        "directconnect", region_name="us-east-1", config=botocore.config.Config(retries={"max_attempts": 0})
    )
    assert error_of(raw.describe_connections, connectionId=CONNECTION)["Code"] == "ThrottlingException"
    emulated.clock.advance(1)
    assert raw.describe_connections(connectionId=CONNECTION)["connections"]


def test_injected_operation_faults_fail_that_many_calls(emulated: Emulated) -> None:
    connection(emulated)
    emulated.backend.faults.operations.append(OperationFault("DescribeConnections", "DirectConnectServerException", 2))
    raw = botocore.session.get_session().create_client(
        "directconnect", region_name="us-east-1", config=botocore.config.Config(retries={"max_attempts": 0})
    )
    for _ in range(2):
        error = error_of(raw.describe_connections, connectionId=CONNECTION)
        assert error["Code"] == "DirectConnectServerException"
    assert raw.describe_connections(connectionId=CONNECTION)["connections"]


def test_a_stuck_key_never_leaves_associating(emulated: Emulated) -> None:
    item = connection(emulated)
    item.stuck_state = "associating"
    ckn, cak = new_key()
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=cak)
    emulated.clock.advance(86_400)
    assert keys_of(emulated)[0]["state"] == "associating"


def test_time_without_encryption_is_added_up_per_port(emulated: Emulated) -> None:
    item = connection(emulated)
    ckn, cak = new_key()
    item.router_ckns = {ckn}
    emulated.backend.behaviour.association_seconds = 30
    emulated.backend.settle()
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=cak)
    emulated.clock.advance(100)
    emulated.backend.settle()
    assert emulated.backend.encryption_down_seconds[CONNECTION] == pytest.approx(30)


# ---- every response parses against botocore's service model ----


def _check_shape(value: Any, shape: Any, path: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), path
        unknown = set(value) - set(shape.members)
        assert not unknown, f"{path}: members not in the model: {unknown}"
        for name, item in value.items():
            _check_shape(item, shape.members[name], f"{path}.{name}")
    elif kind == "list":
        assert isinstance(value, list), path
        for n, item in enumerate(value):
            _check_shape(item, shape.member, f"{path}[{n}]")
    elif kind == "string":
        assert isinstance(value, str), path
        if shape.enum:
            assert value in shape.enum, f"{path}: {value!r} not in {shape.enum}"
    elif kind == "boolean":
        assert isinstance(value, bool), path
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), path
    else:
        raise AssertionError(f"{path}: unexpected shape type {kind}")


def test_every_response_matches_the_botocore_output_shape(emulated: Emulated) -> None:
    checked: list[str] = []

    def after_call(http_response: Any, parsed: Any, model: Any, **kwargs: Any) -> None:
        if http_response.status_code == 200:
            _check_shape(json.loads(http_response.content), model.output_shape, model.name)
            checked.append(model.name)

    emulated.dx.meta.events.register("after-call.directconnect", after_call)
    connection(emulated)
    lag(emulated)
    ckn, cak = new_key()
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=cak)
    emulated.dx.associate_mac_sec_key(connectionId=LAG, ckn=ckn, cak=cak)
    emulated.dx.describe_connections()
    emulated.dx.describe_connections(connectionId=MEMBERS[0])
    emulated.dx.describe_lags()
    emulated.dx.update_connection(connectionId=CONNECTION, encryptionMode="must_encrypt")
    emulated.dx.update_lag(lagId=LAG, encryptionMode="must_encrypt")
    arn = keys_of(emulated)[0]["secretARN"]
    emulated.dx.disassociate_mac_sec_key(connectionId=CONNECTION, secretARN=arn)
    assert set(checked) >= {
        "AssociateMacSecKey",
        "DescribeConnections",
        "DescribeLags",
        "UpdateConnection",
        "UpdateLag",
        "DisassociateMacSecKey",
    }


# ---- what AWS leaves unpublished: one `behaviour` knob each (docs/scenarios.md, "What AWS leaves open") ----


def raw_client() -> Any:
    """A client that never retries, so each request is seen once."""
    return botocore.session.get_session().create_client(
        "directconnect", region_name="us-east-1", config=botocore.config.Config(retries={"max_attempts": 0})
    )


def associated_key(emulated: Emulated, target: str = CONNECTION) -> tuple[str, str]:
    """Associate a fresh pair and wait until it is `associated`; returns (ckn, secretARN)."""
    ckn, cak = new_key()
    emulated.dx.associate_mac_sec_key(connectionId=target, ckn=ckn, cak=cak)
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    arn = next(k["secretARN"] for k in keys_of(emulated, target) if k["ckn"] == ckn and k["state"] == "associated")
    return ckn, arn


def states(emulated: Emulated, target: str = CONNECTION) -> list[tuple[str, str]]:
    return [(k["ckn"], k["state"]) for k in keys_of(emulated, target)]


def secret_exists(emulated: Emulated, arn: str) -> bool:
    try:
        emulated.secrets.describe_secret(SecretId=arn)
    except ClientError:
        return False
    return True


def test_scenario_behaviour_fields_are_the_emulator_knobs() -> None:
    # Given every knob in a scenario's camelCase contract
    knobs = {
        "disassociatedKeysLingerSeconds": None,
        "lagMembersOmitPortStatus": True,
        "portStatusDelaySeconds": 20,
        "associationWaitsForRouter": True,
        "managedSecretPerCkn": True,
        "reassociateLingeringCkn": "afterGone",
        "lingeringKeysCountTowardLimit": True,
    }
    # When it is parsed and applied as local/simulation.py applies it
    behaviour = Behaviour(**parse({"behaviour": knobs}).behaviour.model_dump())
    # Then each reaches the emulator, and the defaults are those of the emulator
    assert behaviour.disassociated_keys_linger_seconds is None
    assert behaviour.lag_members_omit_port_status and behaviour.association_waits_for_router
    assert behaviour.port_status_delay_seconds == 20
    assert behaviour.managed_secret_per_ckn and behaviour.lingering_keys_count_toward_limit
    assert behaviour.reassociate_lingering_ckn == "afterGone"
    assert Behaviour(**parse({}).behaviour.model_dump()) == Behaviour()


def test_disassociated_keys_vanish_at_once_by_default(emulated: Emulated) -> None:
    # Given an associated key (default: disassociatedKeysLingerSeconds 0)
    connection(emulated)
    _, arn = associated_key(emulated)
    # When its disassociation completes
    emulated.dx.disassociate_mac_sec_key(connectionId=CONNECTION, secretARN=arn)
    emulated.clock.advance(emulated.backend.behaviour.disassociation_seconds)
    # Then it is no longer listed, and its managed secret is deleted
    assert keys_of(emulated) == []
    assert not secret_exists(emulated, arn)


def test_disassociated_keys_linger_listed_for_the_configured_time(emulated: Emulated) -> None:
    # Given disassociated keys that stay listed for 60 s
    connection(emulated)
    emulated.backend.behaviour.disassociated_keys_linger_seconds = 60
    ckn, arn = associated_key(emulated)
    # When its disassociation completes
    emulated.dx.disassociate_mac_sec_key(connectionId=CONNECTION, secretARN=arn)
    emulated.clock.advance(emulated.backend.behaviour.disassociation_seconds)
    # Then it is listed as `disassociated`, its secret kept, until the 60 s are over
    assert states(emulated) == [(ckn, "disassociated")]
    assert secret_exists(emulated, arn)
    assert emulated.backend.snapshot()[CONNECTION]["macSecKeys"][0]["state"] == "disassociated"
    emulated.clock.advance(59)
    assert states(emulated) == [(ckn, "disassociated")]
    emulated.clock.advance(1)
    assert keys_of(emulated) == []
    assert not secret_exists(emulated, arn)


def test_disassociated_keys_may_linger_for_ever(emulated: Emulated) -> None:
    # Given disassociatedKeysLingerSeconds null
    connection(emulated)
    emulated.backend.behaviour.disassociated_keys_linger_seconds = None
    ckn, arn = associated_key(emulated)
    # When a removed key's disassociation completed long ago
    emulated.dx.disassociate_mac_sec_key(connectionId=CONNECTION, secretARN=arn)
    emulated.clock.advance(30 * 86_400)
    # Then it is still listed
    assert states(emulated) == [(ckn, "disassociated")]


@pytest.mark.parametrize("omit", [False, True])
def test_lag_members_may_come_without_port_status(emulated: Emulated, omit: bool) -> None:
    # Given a LAG with an associated key its router holds, members nested with or without port status
    item = lag(emulated)
    emulated.backend.behaviour.lag_members_omit_port_status = omit
    ckn, cak = new_key()
    emulated.backend.seed_router_ckns(item, [ckn])
    emulated.dx.associate_mac_sec_key(connectionId=LAG, ckn=ckn, cak=cak)
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    # When the LAG and a member are described
    nested = emulated.dx.describe_lags(lagId=LAG)["lags"][0]["connections"]
    member = emulated.dx.describe_connections(connectionId=MEMBERS[0])["connections"][0]
    # Then only DescribeLags leaves it out, and only when asked to
    assert [("portEncryptionStatus" in m) for m in nested] == [not omit, not omit]
    assert member["portEncryptionStatus"] == "Encryption Up"


@pytest.mark.parametrize(("delay", "reported_down_for"), [(0, 0), (20, 20)])
def test_reported_port_status_lags_the_physical_one(emulated: Emulated, delay: float, reported_down_for: float) -> None:
    # Given a must_encrypt connection whose router holds its key but not the next one
    item = connection(emulated, encryption_mode="must_encrypt")
    emulated.backend.behaviour.port_status_delay_seconds = delay
    old, new = new_key(), new_key()
    emulated.backend.seed_router_ckns(item, [old[0]])
    emulated.backend.seed_key(item, *old)
    emulated.backend.settle()
    old_arn = keys_of(emulated)[0]["secretARN"]

    def port() -> tuple[str, str]:
        described = emulated.dx.describe_connections(connectionId=CONNECTION)["connections"][0]
        return described["portEncryptionStatus"], described["connectionState"]

    assert port() == ("Encryption Up", "available")  # before the run it was as seeded
    emulated.clock.advance(10)
    # When the new key is associated and the old one removed: physically, encryption is down
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=new[0], cak=new[1])
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    emulated.dx.disassociate_mac_sec_key(connectionId=CONNECTION, secretARN=old_arn)
    # Then the link is down at once, but the port status reports it only `delay` later
    reported = ("Encryption Up" if delay else "Encryption Down", "down")
    emulated.clock.advance(1)
    assert port() == reported
    emulated.clock.advance(9)  # even once the old key is no longer listed (after disassociationSeconds, 5)
    assert keys_of(emulated)[0]["ckn"] == new[0] and len(keys_of(emulated)) == 1
    assert port() == reported
    assert emulated.backend.snapshot()[CONNECTION]["portEncryptionStatus"] == "Encryption Down"
    emulated.clock.advance(reported_down_for)
    assert port() == ("Encryption Down", "down")
    emulated.backend.settle()
    assert emulated.backend.encryption_down_seconds[CONNECTION] == pytest.approx(10 + reported_down_for)


def test_association_does_not_wait_for_the_router_by_default(emulated: Emulated) -> None:
    # Given a router without the new CKN
    connection(emulated)
    ckn, cak = new_key()
    # When the key is associated
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=cak)
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    # Then it is associated after associationSeconds anyway
    assert states(emulated) == [(ckn, "associated")]


def test_association_may_wait_for_the_router(emulated: Emulated) -> None:
    # Given association that waits for the peer router, which lacks the new CKN
    connection(emulated)
    emulated.backend.behaviour.association_waits_for_router = True
    emulated.backend.behaviour.association_seconds = 30
    ckn, cak = new_key()
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=cak)
    emulated.clock.advance(1000)
    assert states(emulated) == [(ckn, "associating")]
    # When the customer configures the CKN on the router
    emulated.backend.add_router_ckn(CONNECTION, ckn)
    # Then the key is associated associationSeconds later, and the port comes up with it
    emulated.clock.advance(29)
    assert states(emulated) == [(ckn, "associating")]
    emulated.clock.advance(1)
    assert states(emulated) == [(ckn, "associated")]
    assert emulated.dx.describe_connections()["connections"][0]["portEncryptionStatus"] == "Encryption Up"
    # And a CKN the router already holds is associated associationSeconds after the request
    other, other_cak = new_key()
    emulated.backend.add_router_ckn(CONNECTION, other)
    emulated.clock.advance(100)
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=other, cak=other_cak)
    emulated.clock.advance(30)
    assert states(emulated)[-1] == (other, "associated")


def test_each_association_gets_a_fresh_managed_secret_by_default(emulated: Emulated) -> None:
    # Given a CKN still listed (disassociated) when it is associated again
    connection(emulated)
    emulated.backend.behaviour.disassociated_keys_linger_seconds = None
    ckn, arn = associated_key(emulated)
    emulated.dx.disassociate_mac_sec_key(connectionId=CONNECTION, secretARN=arn)
    emulated.clock.advance(emulated.backend.behaviour.disassociation_seconds)
    # When the pair is associated again
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=new_key()[1])
    # Then the new entry has a secret of its own, named with a suffix
    first, second = (k["secretARN"] for k in keys_of(emulated))
    assert first == arn and second != arn
    assert emulated.secrets.describe_secret(SecretId=second)["Name"].endswith(f"{ckn}-2")


def test_a_managed_secret_per_ckn_is_shared_and_disassociation_acts_on_the_live_key(emulated: Emulated) -> None:
    # Given managed secrets named after the CKN, and removed keys that linger 60 s
    connection(emulated)
    lag(emulated)
    emulated.backend.behaviour.managed_secret_per_ckn = True
    emulated.backend.behaviour.disassociated_keys_linger_seconds = 60
    ckn, cak = new_key()
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=cak)
    emulated.dx.associate_mac_sec_key(connectionId=LAG, ckn=ckn, cak=cak)
    arn = keys_of(emulated)[0]["secretARN"]
    # Then one pair on several targets shares one secret, named after the CKN alone
    assert keys_of(emulated, LAG)[0]["secretARN"] == arn
    name = emulated.secrets.describe_secret(SecretId=arn)["Name"]
    assert name == f"directconnect!prod/us-east-1/directconnect/{ckn}"
    # When the key is removed from the connection
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    emulated.dx.disassociate_mac_sec_key(connectionId=CONNECTION, secretARN=arn)
    refused = error_of(emulated.dx.disassociate_mac_sec_key, connectionId=CONNECTION, secretARN=arn)
    assert "already being disassociated" in refused["Message"]
    emulated.clock.advance(emulated.backend.behaviour.disassociation_seconds)
    refused = error_of(emulated.dx.disassociate_mac_sec_key, connectionId=CONNECTION, secretARN=arn)
    assert refused["Code"] == "DirectConnectClientException"
    assert "is not associated" in refused["Message"]
    # And associated again while the old entry lingers: the new entry reuses the secret
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=cak)
    assert [(k["secretARN"], k["state"]) for k in keys_of(emulated)] == [
        (arn, "disassociated"),
        (arn, "associating"),
    ]
    # Then DisassociateMacSecKey with that ARN acts on the live key
    response = emulated.dx.disassociate_mac_sec_key(connectionId=CONNECTION, secretARN=arn)
    assert response["macSecKeys"][0]["state"] == "disassociating"
    assert states(emulated) == [(ckn, "disassociated"), (ckn, "disassociating")]
    # And the secret stays while any target lists a key that uses it
    emulated.clock.advance(3600)
    assert keys_of(emulated) == []
    assert secret_exists(emulated, arn)
    emulated.dx.disassociate_mac_sec_key(connectionId=LAG, secretARN=arn)
    emulated.clock.advance(emulated.backend.behaviour.disassociation_seconds + 60)
    assert keys_of(emulated, LAG) == []  # the emulator settles on Direct Connect calls
    assert not secret_exists(emulated, arn)


def test_a_disassociating_ckn_may_be_associated_again_by_default(emulated: Emulated) -> None:
    # Given a key being disassociated (default: reassociateLingeringCkn "allowed")
    connection(emulated)
    ckn, arn = associated_key(emulated)
    emulated.dx.disassociate_mac_sec_key(connectionId=CONNECTION, secretARN=arn)
    # When its CKN is associated again
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=new_key()[1])
    # Then a new entry is appended, and the old one expires on its own
    assert states(emulated) == [(ckn, "disassociating"), (ckn, "associating")]
    emulated.clock.advance(emulated.backend.behaviour.disassociation_seconds)
    assert states(emulated) == [(ckn, "associating")]


def test_reassociating_a_lingering_ckn_may_wait_until_it_is_gone(emulated: Emulated) -> None:
    # Given reassociateLingeringCkn "afterGone" and a key being disassociated
    connection(emulated)
    emulated.backend.behaviour.reassociate_lingering_ckn = "afterGone"
    emulated.backend.behaviour.disassociated_keys_linger_seconds = 10
    ckn, arn = associated_key(emulated)
    emulated.dx.disassociate_mac_sec_key(connectionId=CONNECTION, secretARN=arn)
    cak = new_key()[1]
    # When its CKN is associated again while it is still listed
    for wait in (0, emulated.backend.behaviour.disassociation_seconds):
        emulated.clock.advance(wait)
        refused = error_of(emulated.dx.associate_mac_sec_key, connectionId=CONNECTION, ckn=ckn, cak=cak)
        # Then Direct Connect refuses it
        assert refused["Code"] == "DirectConnectClientException"
        assert refused["Message"] == f"The MACsec key {ckn} is still being disassociated from {CONNECTION}."
    # And accepts it once the CKN is no longer listed at all
    emulated.clock.advance(10)
    emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=cak)
    assert states(emulated) == [(ckn, "associating")]


@pytest.mark.parametrize("count", [False, True])
def test_lingering_disassociated_keys_may_count_toward_the_limit(emulated: Emulated, count: bool) -> None:
    # Given a full keychain whose first key is disassociated but still listed
    connection(emulated)
    emulated.backend.behaviour.disassociated_keys_linger_seconds = None
    emulated.backend.behaviour.lingering_keys_count_toward_limit = count
    arns = [associated_key(emulated)[1] for _ in range(3)]
    emulated.dx.disassociate_mac_sec_key(connectionId=CONNECTION, secretARN=arns[0])
    ckn, cak = new_key()
    # Then a disassociating key always takes a place
    assert (
        "already has 3"
        in error_of(emulated.dx.associate_mac_sec_key, connectionId=CONNECTION, ckn=ckn, cak=cak)["Message"]
    )
    # When its disassociation completes and a fourth key is associated
    emulated.clock.advance(emulated.backend.behaviour.disassociation_seconds)
    if count:
        # Then it is refused while the disassociated key counts
        refused = error_of(emulated.dx.associate_mac_sec_key, connectionId=CONNECTION, ckn=ckn, cak=cak)
        assert "already has 3" in refused["Message"]
    else:
        # Then it is accepted, and four keys are listed
        emulated.dx.associate_mac_sec_key(connectionId=CONNECTION, ckn=ckn, cak=cak)
        assert [s for _, s in states(emulated)] == ["disassociated", "associated", "associated", "associating"]


def test_the_server_exception_is_http_400_and_botocore_does_not_retry_it(emulated: Emulated) -> None:
    # Given one DirectConnectServerException injected, and a client with botocore's default retries
    connection(emulated)
    emulated.backend.faults.operations.append(OperationFault("DescribeConnections", "DirectConnectServerException", 1))
    # When the operation is called
    with pytest.raises(ClientError) as caught:
        emulated.dx.describe_connections(connectionId=CONNECTION)
    # Then it fails with HTTP 400 after one request
    assert caught.value.response["Error"]["Code"] == "DirectConnectServerException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert emulated.backend.calls["DescribeConnections"] == 1


def test_an_injected_fault_may_carry_its_message(emulated: Emulated) -> None:
    # Given a client exception injected with the text AWS would send
    connection(emulated)
    text = f"Connection {CONNECTION} is currently being updated. Please try again later."
    fault = OperationFault("AssociateMacSecKey", "DirectConnectClientException", 1, text)
    emulated.backend.faults.operations.append(fault)
    ckn, cak = new_key()
    # When the operation is called, the error carries that text; without a message, a generic one
    assert error_of(raw_client().associate_mac_sec_key, connectionId=CONNECTION, ckn=ckn, cak=cak) == {
        "Code": "DirectConnectClientException",
        "Message": text,
    }
    emulated.backend.faults.operations.append(OperationFault("UpdateConnection", "ThrottlingException", 1))
    assert error_of(raw_client().update_connection, connectionId=CONNECTION)["Message"] == "Rate exceeded"
