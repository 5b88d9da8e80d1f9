"""The platform's signing key: created once, atomically, private to its owner; published."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from socialcredit.reports import SigningKeyError, load_signing_key, parse_public_key
from socialcredit.reports.keys import SigningKey, default_key_path, key_path


def test_created_on_first_use_private_and_stable(key_file: Path) -> None:
    assert not key_file.exists()
    key = load_signing_key(key_file)
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    again = load_signing_key(key_file)
    assert again.key_id == key.key_id and again.pem() == key.pem()
    assert key.key_id.startswith("ed25519:") and len(key.key_id) == len("ed25519:") + 16
    # Nothing but the key is left behind in its directory.
    assert [p.name for p in key_file.parent.iterdir()] == [key_file.name]


def test_the_setting_names_the_file(key_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert key_path() == key_file
    monkeypatch.delenv("SOCIALCREDIT_SIGNING_KEY")
    monkeypatch.setenv("XDG_DATA_HOME", str(key_file.parent / "data"))
    assert key_path() == default_key_path() == key_file.parent / "data/socialcredit/signing-key.pem"


def test_processes_starting_at_once_share_one_key(key_file: Path) -> None:
    ids: list[str] = []

    def load() -> None:
        ids.append(load_signing_key(key_file).key_id)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(ids) == 8
    assert load_signing_key(key_file).key_id == ids[0]


def test_a_replaced_key_file_is_read_again(key_file: Path) -> None:
    first = load_signing_key(key_file)
    other = SigningKey.generate()
    key_file.write_bytes(other.pem() + b"\n")  # another size: a changed file
    assert load_signing_key(key_file).key_id == other.key_id != first.key_id


def test_unusable_key_files_are_refused_clearly(key_file: Path) -> None:
    with pytest.raises(SigningKeyError, match="no signing key"):
        load_signing_key(key_file, create=False)
    key_file.parent.mkdir(parents=True)
    key_file.write_text("not a key")
    with pytest.raises(SigningKeyError, match="not an unencrypted PEM private key"):
        load_signing_key(key_file)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    key_file.write_bytes(
        ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(SigningKeyError, match="not an Ed25519 key"):
        load_signing_key(key_file)


def test_public_keys_as_published(signing_key: SigningKey) -> None:
    pem = signing_key.public.pem()
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert parse_public_key(pem.encode()).key_id == signing_key.key_id
    with pytest.raises(SigningKeyError, match="not a PEM public key"):
        parse_public_key(b"garbage", "KEY.pem")
    ec_pub = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(SigningKeyError, match="not an Ed25519 key"):
        parse_public_key(
            ec_pub.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
