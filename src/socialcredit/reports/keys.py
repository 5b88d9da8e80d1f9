"""The platform's certificate signing key: Ed25519, a PEM file, generated on first use.

The private key is an unencrypted PKCS #8 PEM file readable by its owner only (0600),
at ``SOCIALCREDIT_SIGNING_KEY`` or else ``$XDG_DATA_HOME/socialcredit/signing-key.pem``
(``~/.local/share/...``). It is created on first use, atomically: two processes that
start at once end up with the same key, never with one each. The public key is
published (``socialcredit certificate public-key``, ``GET /v1/public/signing-key``);
its **key id** is ``ed25519:`` and the first 16 hex digits of the SHA-256 of the raw
32-byte public key, so a certificate names the key that signed it.

Signing and verifying go through ``cryptography`` (OpenSSL): no home-made crypto.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from socialcredit.config import Settings, load_settings
from socialcredit.reports.errors import SigningKeyError

ALGORITHM = "Ed25519"
KEY_ID_PREFIX = "ed25519:"


def default_key_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "socialcredit" / "signing-key.pem"


def key_path(settings: Settings | None = None) -> Path:
    settings = settings or load_settings()
    return settings.signing_key_file or default_key_path()


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class PublicKey:
    key: Ed25519PublicKey
    key_id: str

    @classmethod
    def of(cls, key: Ed25519PublicKey) -> PublicKey:
        return cls(key=key, key_id=KEY_ID_PREFIX + hashlib.sha256(_raw(key)).hexdigest()[:16])

    def pem(self) -> str:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def raw_base64(self) -> str:
        return base64.b64encode(_raw(self.key)).decode("ascii")

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    public: PublicKey
    path: Path | None = None

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key that lives in memory only (tests, and the file's first contents)."""
        private = Ed25519PrivateKey.generate()
        return cls(private=private, public=PublicKey.of(private.public_key()))

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def parse_public_key(data: bytes, source: str = "public key") -> PublicKey:
    """A PEM public key (SubjectPublicKeyInfo) as published; ``SigningKeyError`` otherwise."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise SigningKeyError(f"{source} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{source} is not an {ALGORITHM} key")
    return PublicKey.of(key)


def _parse_private(data: bytes, path: Path) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"signing key {path} is not an unencrypted PEM private key ({exc})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"signing key {path} is not an {ALGORITHM} key")
    return SigningKey(private=key, public=PublicKey.of(key.public_key()), path=path)


@lru_cache(maxsize=8)
def _load_cached(path: str, _mtime_ns: int, _size: int) -> SigningKey:
    # Keyed by the file's mtime and size as well, so a replaced key is read again.
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read signing key {p}: {exc.strerror}") from None
    return _parse_private(data, p)


def _create(path: Path) -> None:
    """Write a new key to ``path`` unless a key appears there first (atomically)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise SigningKeyError(f"cannot create {path.parent}: {exc.strerror}") from None
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(SigningKey.generate().pem())
            f.flush()
            os.fsync(f.fileno())
        # A hard link never replaces an existing file: if another process got there
        # first, its key stands and this one is thrown away.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    except OSError as exc:
        raise SigningKeyError(f"cannot write signing key {path}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


def load_signing_key(path: Path | None = None, *, create: bool = True) -> SigningKey:
    """The platform's signing key, created on first use unless ``create`` is False."""
    path = path or key_path()
    try:
        st = path.stat()
    except FileNotFoundError:
        if not create:
            raise SigningKeyError(
                f"no signing key at {path}; `socialcredit certificate public-key` creates one"
            ) from None
        _create(path)
        st = path.stat()
    except OSError as exc:
        raise SigningKeyError(f"cannot read signing key {path}: {exc.strerror}") from None
    return _load_cached(str(path), st.st_mtime_ns, st.st_size)
