import json

import pytest

from macsec_rotation.errors import InvalidKeyMaterial
from macsec_rotation.keys import generate_key_material, is_hex64, parse_key_material, same_ckn, shown
from tests.conftest import new_key

CKN, CAK = "0a" * 32, "1B" * 32


def test_a_valid_secret_value_gives_the_pair_and_hides_the_cak_from_repr() -> None:
    key = parse_key_material(json.dumps({"ckn": CKN, "cak": CAK, "note": "extra fields are fine"}), "s", "v")
    assert (key.ckn, key.cak) == (CKN, CAK)
    assert CAK not in repr(key)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (None, "no SecretString"),
        ("not json", "is not JSON"),
        (json.dumps(["a"]), "not an object"),
        (json.dumps({"ckn": CKN}), "lacks cak"),
        (json.dumps({"cak": CAK}), "lacks ckn"),
        (json.dumps({"ckn": CKN, "cak": CAK[:-2]}), "cak must be exactly 64"),
        (json.dumps({"ckn": CKN + "0", "cak": CAK}), "ckn must be exactly 64"),
        (json.dumps({"ckn": CKN, "cak": "g" * 64}), "cak must be exactly 64"),
        (json.dumps({"ckn": CKN, "cak": 42}), "cak must be exactly 64"),
    ],
)
def test_malformed_secret_values_are_refused_without_quoting_them(value: str | None, says: str) -> None:
    with pytest.raises(InvalidKeyMaterial) as caught:
        parse_key_material(value, "macsec/x", "v1")
    message = str(caught.value)
    assert says in message
    assert "macsec/x" in message
    assert "v1" in message
    assert CAK[:-2] not in message
    assert "g" * 64 not in message


def test_generated_pairs_are_fresh_64_digit_hex() -> None:
    first, second = generate_key_material(), generate_key_material()
    assert is_hex64(first.ckn)
    assert is_hex64(first.cak)
    assert first != second


def test_ckns_compare_case_insensitively() -> None:
    assert same_ckn("ABCDEF" * 10 + "0123", "abcdef" * 10 + "0123")


def test_an_identifier_that_looks_like_key_material_is_not_shown_in_messages() -> None:
    _, cak = new_key()
    for pasted in (
        cak,
        cak[:32],
        f"macsec/{cak}",
        f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{cak}-AbCdEf",
    ):
        assert cak[:32] not in shown(pasted)
    for ordinary in (
        "macsec/dxcon-abcd1234",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:macsec/dxlag-efgh5678-AbCdEf",
        "5f0c4f8e-2c57-4b0e-9d8e-0a6f1f4a2b11",
    ):
        assert shown(ordinary) == ordinary
