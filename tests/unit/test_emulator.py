"""The Direct Connect emulator, one fidelity rule of DOMAIN.md at a time."""

from __future__ import annotations

import json
from typing import Any

import botocore.config
import botocore.session
import pytest
from botocore.exceptions import ClientError

from local.directconnect import Connection, Lag, OperationFault
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
