import pytest

from tests.conftest import assert_no_key_material


def test_the_scanner_finds_a_cak_in_any_case_anywhere_in_nested_output() -> None:
    cak = "ab" * 32
    with pytest.raises(AssertionError, match="leaked"):
        assert_no_key_material({"logs": ["x", {"deep": f"prefix {cak.upper()} suffix"}]}, [cak])
    assert_no_key_material({"logs": ["ckn only: " + "cd" * 32]}, [cak])
