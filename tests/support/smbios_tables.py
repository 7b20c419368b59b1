"""SMBIOS tables of known machines, built byte by byte (``smbios_builder``): a Dell OptiPlex
3010 with an updated BIOS, a ThinkPad T480 with 32 GB modules, QEMU, VirtualBox, VMware and a
white-box board whose strings are all placeholders. The SMBIOS tests parse them and compare with
dmidecode; the inventory tests read them as dumps."""

from __future__ import annotations

from datetime import date

from tests.support import smbios_builder as b
from wardwatch.agent.probes.machine.smbios import Cpu, MemoryDevice, Smbios

I3_3220 = "Intel(R) Core(TM) i3-3220 CPU @ 3.30GHz"
DELL_UUID = "4C4C4544-0058-5910-8033-B7C04F313233"

DELL_OPTIPLEX_3010 = b.table(
    b.bios(0x0000, "Dell Inc.", "A18", "05/14/2018"),
    b.system(0x0100, "Dell Inc.", "OptiPlex 3010", "7XYZ123", "OptiPlex 3010", DELL_UUID),
    b.baseboard(0x0200, "Dell Inc.", "042P49"),
    b.chassis(0x0300, "Dell Inc.", 3),
    b.processor(0x0400, "CPU 1", "Intel", I3_3220, 3300, 3300, 2, 4),
    b.memory_device(0x1100, "DIMM1", 4096, manufacturer="Samsung", part_number="M378B5273DH0"),
    b.memory_device(0x1101, "DIMM2", 4096, manufacturer="Samsung", part_number="M378B5273DH0"),
)


def _ddr3(locator: str) -> MemoryDevice:
    return MemoryDevice(
        locator=locator,
        size_mb=4096,
        speed_mts=1600,
        type="DDR3",
        manufacturer="Samsung",
        part_number="M378B5273DH0",
    )


DELL_EXPECTED = Smbios(
    version="2.7",
    bios_vendor="Dell Inc.",
    bios_version="A18",
    bios_date_raw="05/14/2018",
    bios_date=date(2018, 5, 14),
    manufacturer="Dell Inc.",
    product="OptiPlex 3010",
    serial="7XYZ123",
    sku="OptiPlex 3010",
    uuid=DELL_UUID,
    baseboard_manufacturer="Dell Inc.",
    baseboard_product="042P49",
    chassis_type_code=3,
    chassis_type="Desktop",
    cpus=[
        Cpu(
            socket="CPU 1",
            manufacturer="Intel",
            version=I3_3220,
            max_speed_mhz=3300,
            current_speed_mhz=3300,
            cores=2,
            threads=4,
            family="Core i3",
            upgrade="Socket LGA1155",
        )
    ],
    memory=[_ddr3("DIMM1"), _ddr3("DIMM2")],
    memory_mb=8192,
    missing=[],
)

THINKPAD_T480 = b.table(
    b.bios(0x0000, "LENOVO", "N24ET75W (1.50 )", "02/08/2022"),
    b.system(
        0x0001, "LENOVO", "20L5CTO1WW", "PF1ABCDE", "LENOVO_MT_20L5_BU_Think_FM_ThinkPad T480"
    ),
    b.baseboard(0x0002, "LENOVO", "20L5CTO1WW"),
    b.chassis(0x0003, "LENOVO", 10, lock=True),
    b.processor(
        0x0004,
        "U3E1",
        "Intel(R) Corporation",
        "Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz",
        3400,
        1600,
        4,
        8,
        family=0xCD,  # Core i5, given in Processor Family 2
        upgrade=0x33,  # BGA1356: soldered, a code the parser leaves unnamed
        family_in_word=True,
    ),
    # 32 GB does not fit the Size WORD: 0x7FFF says "see Extended Size".
    b.memory_device(
        0x0040, "ChannelA-DIMM0", 0x7FFF, 0x1A, 2400, "Samsung", "M471A4G43MB1-CTD", 32768
    ),
    # Granularity bit: 0x8000 | 4096 means 4096 KB.
    b.memory_device(0x0041, "ChannelB-DIMM0", 0x8000 | 4096, 0x1A, 2400, "Micron", "X"),
    b.memory_device(0x0042, "ChannelB-DIMM1", 0xFFFF, 0x1A, 0),
)

QEMU = b.table(
    b.bios(0x0000, "SeaBIOS", "1.16.2-debian-1.16.2-1", "04/01/2014"),
    b.system(0x0100, "QEMU", "Standard PC (i440FX + PIIX, 1996)", version="pc-i440fx-8.2"),
    b.chassis(0x0300, "QEMU", 1),
    b.processor(0x0400, "CPU 0", "QEMU", "pc-i440fx-8.2", 2000, 2000, 1, 1),
    b.memory_device(0x1100, "DIMM 0", 2048, 0x07, 0, "QEMU"),
)

VIRTUALBOX = b.table(
    b.bios(0x0000, "innotek GmbH", "VirtualBox", "12/01/2006"),
    b.system(0x0001, "innotek GmbH", "VirtualBox", "0", family="Virtual Machine"),
    b.baseboard(0x0008, "Oracle Corporation", "VirtualBox"),
    b.chassis(0x0003, "Oracle Corporation", 1),
)

VMWARE = b.table(
    b.bios(0x0000, "Phoenix Technologies LTD", "6.00", "11/12/20"),
    b.system(0x0001, "VMware, Inc.", "VMware Virtual Platform", "VMware-56 4d 8f 1e"),
    b.baseboard(0x0002, "Intel Corporation", "440BX Desktop Reference Platform"),
    b.chassis(0x0003, "No Enclosure", 1),
    b.processor(0x0004, "CPU #000", "GenuineIntel", "Intel(R) Xeon(R) Gold 6230", 4400, 2100, 1, 1),
    b.memory_device(0x0100, "RAM slot #0", 4096, 0x03, 0),
)

# A desktop as many white-box boards ship it: every string a placeholder.
WHITE_BOX = b.table(
    b.bios(0x0000, "American Megatrends Inc.", "P1.40", "07/25/2013"),
    b.system(0x0001, "To Be Filled By O.E.M.", "To Be Filled By O.E.M.", "System Serial Number"),
    b.baseboard(0x0002, "ASRock", "H61M-VS"),
    b.chassis(0x0003, "Default string", 3),
)

ALL_TABLES = {
    "dell": DELL_OPTIPLEX_3010,
    "thinkpad": THINKPAD_T480,
    "qemu": QEMU,
    "virtualbox": VIRTUALBOX,
    "vmware": VMWARE,
    "white-box": WHITE_BOX,
}


def assert_parsed(parsed: Smbios) -> None:
    """What any input must give, damaged or not: an ``Smbios``, every problem a sentence."""
    assert isinstance(parsed, Smbios)
    assert all(isinstance(m, str) and m for m in parsed.missing)
