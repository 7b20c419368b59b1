"""Whole office PCs as their SMBIOS tables describe them, with the year each model was launched
(``machines.tsv`` beside this module): branded desktops, all-in-ones and laptops (2006-2024),
and the white boxes small Vietnamese offices buy, whose launch year is their board's.

Written from public specifications, never from published DMI reports or probe databases:
HP QuickSpecs, Dell owner's manuals and spec sheets, Lenovo PSREF, Fujitsu, Acer and ASUS data
sheets, board makers' product pages and CPU support lists, Intel ARK and AMD product pages, and
Wikipedia's lists of Intel and AMD processors and chipsets. Each row pairs a model with a CPU and
memory type its specification lists; the CPU is written as the processor's own brand string,
repeated spaces and all, the way firmware copies it into the type 4 Version field (some older
firmware, Dell's among it, writes "Not Specified" there instead; the row keeps the CPU the
machine had, as the OS reports it). Type 1 placeholders are the firmware vendor's own ("To be
filled by O.E.M." from AMI Aptio, "To Be Filled By O.E.M." from ASRock, "System manufacturer"
from ASUS, "Default string" from Gigabyte's later boards).

The baseboard values of branded machines (HP's four-digit board IDs, Dell's part numbers,
Lenovo's platform names, Fujitsu's D-numbers) are given for realism and are not vouched for: a
board revision or another form factor of the same model carries another. For white boxes the
board name is the board's retail name, which is what dates them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, NamedTuple

Kind = Literal["desktop", "aio", "laptop", "whitebox"]


class Machine(NamedTuple):
    """One office PC as its SMBIOS table names it, and its model's launch year."""

    kind: Kind
    manufacturer: str  # type 1 Manufacturer, as the vendor writes it
    product: str  # type 1 Product Name (Lenovo: the machine-type code)
    version: str  # type 1 Version (Lenovo: the model name; others mostly "" or a placeholder)
    board: str  # type 2 baseboard Product
    cpu: str  # type 4 Processor Version: the CPU's brand string
    memory: str  # SMBIOS memory type of the installed RAM
    launch: int  # launch year of the model (white boxes: of the board)


_KINDS: dict[str, Kind] = {
    "desktop": "desktop",
    "aio": "aio",
    "laptop": "laptop",
    "whitebox": "whitebox",
}


def _load(path: Path) -> list[Machine]:
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line[:1] != "#"]
    header, *body = rows
    assert header.split("\t") == list(Machine._fields), header
    found = []
    for line in body:
        kind, manufacturer, product, version, board, cpu, memory, launch = line.split("\t")
        found.append(
            Machine(_KINDS[kind], manufacturer, product, version, board, cpu, memory, int(launch))
        )
    return found


MACHINES: list[Machine] = _load(Path(__file__).with_name("machines.tsv"))
