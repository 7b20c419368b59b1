"""The agent's MSIs as ``make windows`` builds them, once per test session: two builds of the
same inputs (they must give the same bytes) and a signed build of a newer version (the upgrade).
"""

from __future__ import annotations

import datetime
import importlib.util
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support import repo
from tests.support.wine import INSTALL

NEWER = "100.0.0"
"""The upgrade's version, above any real one. Not 255.0.0, the highest an MSI allows: Wine 8's
msi then finds the installed 0.x newer and refuses the upgrade as a downgrade (measured)."""
BUILD = repo.ROOT / "deploy" / "windows" / "build_msi.py"
CACHE = repo.ROOT / "build" / "windows-inputs"
"""Downloads are kept between runs (the build checks their hashes every time)."""


def script() -> ModuleType:
    """``deploy/windows/build_msi.py`` as a module, imported once (deploy/ is no package): its
    ``fetch`` and ``stage`` lay out what an MSI installs without building one. Call it before
    starting threads."""
    if "build_msi" not in sys.modules:
        spec = importlib.util.spec_from_file_location("build_msi", BUILD)
        assert spec is not None and spec.loader is not None
        # Registered before it runs: its dataclasses look their own module up as they are made.
        module = sys.modules["build_msi"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules["build_msi"]


def build(out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """``deploy/windows/build_msi.py --out OUT [OPTIONS]``, as ``make windows`` runs it."""
    for tool in ("wixl", "msiinfo", "faketime", "wine", "osslsigncode"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: {INSTALL}", pytrace=False)
    command = [sys.executable, str(BUILD), "--out", str(out), "--cache", str(CACHE), *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


@dataclass(frozen=True)
class Built:
    """Two builds' output folders and the first one's printed lines."""

    first: Path
    second: Path
    printed: list[str]
    newer: Path
    """A third build, of a newer version, signed by ``signer``: the upgrade."""
    signer: Path

    def msi(self, suffix: str = "", folder: Path | None = None) -> Path:
        """The first build's MSI of a runtime ("" for main, "-legacy"), or ``folder``'s."""
        (found,) = (folder or self.first).glob(f"wardwatch-agent-*-x64{suffix}.msi")
        return found


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    first, second = tmp_path_factory.mktemp("dist1"), tmp_path_factory.mktemp("dist2")
    newer = tmp_path_factory.mktemp("dist-newer")
    done = build(first)
    assert done.returncode == 0, done.stderr
    # The upgrade is signed, as make windows SIGN_CERT=... SIGN_KEY=... signs.
    cert, key = signer(tmp_path_factory.mktemp("signer"))
    signed = ("--version", NEWER, "--sign-cert", str(cert), "--sign-key", str(key))
    # Side by side, once the first build has filled the download cache they share.
    with ThreadPoolExecutor(2) as pool:
        for again in pool.map(lambda job: build(*job), ((second,), (newer, *signed))):
            assert again.returncode == 0, again.stderr
    return Built(first, second, done.stdout.splitlines(), newer, cert)


def signer(folder: Path) -> tuple[Path, Path]:
    """A self-signed code-signing certificate and its key, as PEM files."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wardwatch test signer")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (folder / "key.pem").write_bytes(pem)
    return folder / "cert.pem", folder / "key.pem"


def table(msi: Path, name: str) -> list[list[str]]:
    """The rows of one table of an MSI (msiinfo export), past its three header lines."""
    exported = subprocess.run(
        ["msiinfo", "export", str(msi), name], capture_output=True, text=True, check=True
    )
    return [line.split("\t") for line in exported.stdout.splitlines()[3:]]
