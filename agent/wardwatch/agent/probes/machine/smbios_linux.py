"""SMBIOS on Linux: the raw table from sysfs (root), else the world-readable DMI id files."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from wardwatch.agent.probes.machine import smbios, smbios_codes

TABLES_DIR: Final = Path("sys/firmware/dmi/tables")
ID_DIR: Final = Path("sys/class/dmi/id")

# /sys/class/dmi/id file → Smbios field. The kernel already strips the strings; placeholders
# still need cleaning. product_serial (like the raw table) is readable by root only.
_ID_FILES: Final = {
    "bios_vendor": "bios_vendor",
    "bios_version": "bios_version",
    "bios_date": "bios_date_raw",
    "sys_vendor": "manufacturer",
    "product_name": "product",
    "product_serial": "serial",
    "product_sku": "sku",
    "product_uuid": "uuid",
    "board_vendor": "baseboard_manufacturer",
    "board_name": "baseboard_product",
}


def read(root: Path = Path("/")) -> smbios.Smbios:
    """Read SMBIOS under ``root`` (``/`` in production, a fake tree in tests)."""
    tables = root / TABLES_DIR
    try:
        entry_point = (tables / "smbios_entry_point").read_bytes()
        table = (tables / "DMI").read_bytes()
    except OSError as error:
        reason = _reason(error)
    else:
        return smbios.parse(entry_point, table)
    return _read_id_files(root / ID_DIR, f"raw table: {reason}")


def _reason(error: OSError) -> str:
    if isinstance(error, PermissionError):
        return "not readable (root only)"
    if isinstance(error, FileNotFoundError):
        return "absent"
    return f"unreadable ({error.strerror or type(error).__name__})"


def _read_id_files(id_dir: Path, table_note: str) -> smbios.Smbios:
    """The fallback: what the kernel exports per field; it has no CPU or memory modules."""
    missing = [table_note]
    if not id_dir.is_dir():
        missing.append(f"{ID_DIR}: absent (no DMI on this machine)")
        return smbios.Smbios(missing=missing)
    values: dict[str, str] = {}
    for name, field in _ID_FILES.items():
        try:
            text = (id_dir / name).read_text(encoding="latin-1", errors="replace")
        except OSError as error:
            missing.append(f"{name}: {_reason(error)}")
            continue
        values[field] = smbios_codes.clean_string(text)
    chassis_code: int | None = None
    try:
        chassis_code = int((id_dir / "chassis_type").read_text().strip())
    except OSError as error:
        missing.append(f"chassis_type: {_reason(error)}")
    except ValueError:
        missing.append("chassis_type: not a number")
    missing.append("type 4 (processor): not in /sys/class/dmi/id (needs the raw table)")
    missing.append("type 17 (memory device): not in /sys/class/dmi/id (needs the raw table)")
    return smbios.Smbios(
        bios_date=smbios_codes.parse_bios_date(values.get("bios_date_raw", "")),
        chassis_type_code=chassis_code,
        chassis_type="" if chassis_code is None else smbios_codes.chassis_name(chassis_code),
        missing=missing,
        bios_vendor=values.get("bios_vendor", ""),
        bios_version=values.get("bios_version", ""),
        bios_date_raw=values.get("bios_date_raw", ""),
        manufacturer=values.get("manufacturer", ""),
        product=values.get("product", ""),
        serial=values.get("serial", ""),
        sku=values.get("sku", ""),
        uuid=values.get("uuid", "").upper(),
        baseboard_manufacturer=values.get("baseboard_manufacturer", ""),
        baseboard_product=values.get("baseboard_product", ""),
    )
