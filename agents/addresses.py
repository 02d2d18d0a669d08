"""Validation and canonical form of contact addresses (contract section 6, "Addresses")."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumber_field.phonenumber import PhoneNumber

from agents.models import AddressType
from voipbin_admin.errors import FieldError

MAX_ADDRESSES_PER_AGENT = 20
MAX_TEXT_LENGTH = 255

_TEL_SEPARATORS = re.compile(r"[\s\-.()]")
_TEL_DIGITS = re.compile(r"^\+[0-9]{2,17}$")
_EXTENSION = re.compile(r"^[0-9]{1,20}$")
# user part: RFC 3261 unreserved, escaped and user-unreserved characters.
_SIP_USER = re.compile(r"^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+$")
_SIP_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_SIP_DOMAIN = re.compile(rf"^{_SIP_HOST_LABEL}(?:\.{_SIP_HOST_LABEL})*(?::[0-9]{{1,5}})?$")


@dataclass(frozen=True)
class CleanAddress:
    type: str
    target: str
    target_name: str = ""
    name: str = ""
    detail: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.type, self.target)


class AddressInvalid(ValueError):
    """A single target that cannot be made canonical; the message says why."""


def canonical_tel(raw: str) -> str:
    """E.164 with a possible length for its country; separators removed; validity not required.

    The contract asks for `is_possible_number`, not `is_valid_number`: the tutorial's own
    example (+1 555 ...) uses an unassigned area code.
    """
    compact = _TEL_SEPARATORS.sub("", raw)
    if not _TEL_DIGITS.match(compact):
        raise AddressInvalid("must be a phone number in E.164 format, e.g. +15559876543")
    try:
        number = PhoneNumber.from_string(compact)
    except phonenumbers.NumberParseException as exc:
        raise AddressInvalid("must be a phone number in E.164 format, e.g. +15559876543") from exc
    if not phonenumbers.is_possible_number(number):
        raise AddressInvalid("is not a possible phone number for its country code")
    return number.as_e164


def canonical_extension(raw: str) -> str:
    if not _EXTENSION.match(raw):
        raise AddressInvalid("must be 1 to 20 digits")
    return raw


def canonical_sip(raw: str) -> str:
    value = raw[4:] if raw[:4].lower() == "sip:" else raw
    user, at, domain = value.rpartition("@")
    if not at or not user or not domain:
        raise AddressInvalid("must be user@domain")
    domain = domain.lower()
    if not _SIP_USER.match(user) or not _SIP_DOMAIN.match(domain):
        raise AddressInvalid("must be user@domain")
    target = f"{user}@{domain}"
    if len(target) > MAX_TEXT_LENGTH:
        raise AddressInvalid(f"must be at most {MAX_TEXT_LENGTH} characters")
    return target


_CANONICALIZERS = {
    AddressType.TEL: canonical_tel,
    AddressType.EXTENSION: canonical_extension,
    AddressType.SIP: canonical_sip,
}


def canonical_target(address_type: str, raw_target: str) -> str:
    """The canonical target for a type; raises AddressInvalid with a message for people."""
    canonicalize = _CANONICALIZERS.get(address_type)
    if canonicalize is None:
        raise AddressInvalid("unknown type")
    return canonicalize(raw_target.strip())


def clean_addresses(raw_addresses: object) -> tuple[list[CleanAddress], list[FieldError]]:
    """Validate a whole replacement list; returns the clean list or every field error found."""
    errors: list[FieldError] = []
    if not isinstance(raw_addresses, list | tuple):
        return [], [FieldError("addresses", "must be a list of addresses")]
    if len(raw_addresses) > MAX_ADDRESSES_PER_AGENT:
        return [], [FieldError("addresses", f"an agent has at most {MAX_ADDRESSES_PER_AGENT} addresses")]

    cleaned: list[CleanAddress] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(raw_addresses):
        prefix: tuple[str | int, ...] = ("addresses", index)
        if not isinstance(raw, dict):
            errors.append(FieldError.at(prefix, "must be an object with type and target"))
            continue
        address_type = raw.get("type")
        target = raw.get("target")
        if address_type not in AddressType.values:
            errors.append(FieldError.at((*prefix, "type"), "must be one of tel, extension, sip"))
            continue
        if not isinstance(target, str) or not target.strip():
            errors.append(FieldError.at((*prefix, "target"), "is required"))
            continue
        try:
            canonical = canonical_target(address_type, target)
        except AddressInvalid as exc:
            errors.append(FieldError.at((*prefix, "target"), str(exc)))
            continue
        extras = {}
        for field in ("target_name", "name", "detail"):
            value = raw.get(field)
            if value is None:
                value = ""
            if not isinstance(value, str):
                errors.append(FieldError.at((*prefix, field), "must be a string"))
            elif len(value) > MAX_TEXT_LENGTH:
                errors.append(
                    FieldError.at((*prefix, field), f"must be at most {MAX_TEXT_LENGTH} characters")
                )
            elif "\x00" in value:
                errors.append(FieldError.at((*prefix, field), "must not contain NUL characters"))
            extras[field] = value if isinstance(value, str) else ""
        address = CleanAddress(type=address_type, target=canonical, **extras)
        if address.key in seen:
            errors.append(
                FieldError.at(
                    (*prefix, "target"),
                    f"the same address is already given at addresses[{seen[address.key]}]",
                )
            )
            continue
        seen[address.key] = index
        cleaned.append(address)
    return cleaned, errors
