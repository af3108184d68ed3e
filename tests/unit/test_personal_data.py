"""Resident ID numbers, mobiles, masking and the vault."""
import pytest

from lianxin.personal_data import (
    Vault, id_number_check_digit, id_number_problem, mask_id_number, mask_phone, mobile_problem,
)

VALID_ID = "11010519491231002X"


def valid_id(first17: str) -> str:
    return first17 + id_number_check_digit(first17)


# -- ID numbers ------------------------------------------------------------------------

@pytest.mark.parametrize("value", [VALID_ID, VALID_ID.lower(), valid_id("37021219800101123"),
                                   valid_id("37021220000229456")])
def test_valid_id_numbers_have_no_problem(value):
    assert id_number_problem(value) is None


def test_check_digit_of_known_id():
    assert id_number_check_digit(VALID_ID[:17]) == "X"


def test_wrong_checksum_is_named():
    assert id_number_problem("110105194912310021") == "checksum digit is wrong"


@pytest.mark.parametrize("value", ["", "1101051949123100", "11010519491231002X1", "1101051949A231002X",
                                   "11010519491231002Y", None])
def test_wrong_length_or_letters_are_refused(value):
    assert id_number_problem(value) == "must be 18 characters: 17 digits and a digit or X"


# -- mobiles ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["13912345678", "19800001111"])
def test_valid_mobiles(value):
    assert mobile_problem(value) is None


@pytest.mark.parametrize("value", ["12912345678", "1391234567", "139123456789", "1391234567a", "", None])
def test_invalid_mobiles(value):
    assert mobile_problem(value) == "must be a mainland mobile number: 11 digits starting 13-19"


# -- masking ------------------------------------------------------------------------------

def test_mask_id_number_keeps_first_three_and_last_four():
    assert mask_id_number(VALID_ID) == "110" + "*" * 11 + "002X"


def test_mask_phone_keeps_first_three_and_last_four():
    assert mask_phone("13912345678") == "139****5678"


@pytest.mark.parametrize("mask", [mask_id_number, mask_phone])
def test_masking_passes_empty_values_through(mask):
    assert mask(None) is None
    assert mask("") == ""


# -- vault ----------------------------------------------------------------------------------

def test_seal_open_round_trip():
    vault = Vault("k")
    sealed = vault.seal(VALID_ID)
    assert vault.open(sealed) == VALID_ID
    assert VALID_ID not in sealed
    assert "13912345678" not in vault.seal("13912345678")


def test_seal_and_open_pass_none_through():
    vault = Vault("k")
    assert vault.seal(None) is None
    assert vault.open(None) is None
    assert vault.lookup_hash(None) is None


def test_sealing_twice_gives_different_tokens():
    vault = Vault("k")
    assert vault.seal(VALID_ID) != vault.seal(VALID_ID)


def test_another_key_cannot_open():
    from cryptography.fernet import InvalidToken
    with pytest.raises(InvalidToken):
        Vault("other").open(Vault("k").seal(VALID_ID))


def test_lookup_hash_is_stable_and_case_insensitive():
    vault = Vault("k")
    assert vault.lookup_hash(VALID_ID) == vault.lookup_hash(VALID_ID)
    assert vault.lookup_hash(VALID_ID) == Vault("k").lookup_hash(VALID_ID.lower())
    assert vault.lookup_hash(VALID_ID) != vault.lookup_hash(valid_id("37021219800101123"))
    assert len(vault.lookup_hash(VALID_ID)) == 64


def test_lookup_hash_depends_on_key():
    assert Vault("k").lookup_hash(VALID_ID) != Vault("other").lookup_hash(VALID_ID)


def test_redact_masks_personal_fields_at_any_depth():
    from lianxin.personal_data import redact, redact_json_text
    value = {"data": {"id_number": "11010519491231002X", "phone": "13912345678", "name": "张三",
                      "list": [{"phone": "13800000000"}]}}
    assert redact(value) == {"data": {"id_number": "110***********002X", "phone": "139****5678", "name": "张三",
                                      "list": [{"phone": "138****0000"}]}}
    text = redact_json_text('{"data": {"id_number": "11010519491231002X"}}')
    assert "11010519491231002X" not in text and "002X" in text
    assert redact_json_text("x" * 500) == "x" * 200
