"""Is this machine virtual? The hypervisor its SMBIOS strings name, if any.

A virtual machine's BIOS date is the hypervisor's, not the hardware's, so the age rules ignore
it (``wardwatch.rules.age``); this module only tells a VM from hardware, from the strings the
firmware of each hypervisor writes (systemd-detect-virt and virt-what look at the same ones).
"""

from __future__ import annotations

from typing import Final

from wardwatch.agent.probes.machine.smbios import Smbios

# Each hypervisor with the SMBIOS fields that betray it: every (field, needle) pair of a row
# must appear in that field, case-insensitively. Values as the hypervisors write them
# (systemd-detect-virt and virt-what look at the same strings).
VIRTUAL_SIGNATURES: Final[tuple[tuple[str, tuple[tuple[str, str], ...]], ...]] = (
    ("QEMU/KVM", (("manufacturer", "qemu"),)),
    ("QEMU/KVM", (("product", "kvm"),)),
    ("QEMU/KVM", (("bios_vendor", "seabios"), ("product", "standard pc"))),
    ("QEMU/KVM", (("product", "openstack nova"),)),
    ("VirtualBox", (("manufacturer", "innotek gmbh"),)),
    ("VirtualBox", (("product", "virtualbox"),)),
    ("VMware", (("manufacturer", "vmware"),)),
    ("VMware", (("product", "vmware"),)),
    ("Hyper-V", (("manufacturer", "microsoft corporation"), ("product", "virtual machine"))),
    ("Xen", (("manufacturer", "xen"),)),
    ("Xen", (("product", "hvm domu"),)),
    ("Parallels", (("manufacturer", "parallels"),)),
    ("Parallels", (("product", "parallels"),)),
    ("Bochs", (("manufacturer", "bochs"),)),
    ("Bochs", (("bios_vendor", "bochs"),)),
    ("Amazon EC2", (("manufacturer", "amazon ec2"),)),
    ("Amazon EC2", (("bios_version", "amazon"),)),
    ("Google Compute Engine", (("product", "google compute engine"),)),
)


def detect_virtual(smbios: Smbios) -> str:
    """The hypervisor the SMBIOS strings name ("VMware", "Hyper-V"…), or "" for hardware."""
    fields = {
        "manufacturer": smbios.manufacturer.lower(),
        "product": smbios.product.lower(),
        "bios_vendor": smbios.bios_vendor.lower(),
        "bios_version": smbios.bios_version.lower(),
    }
    for name, needles in VIRTUAL_SIGNATURES:
        if all(needle in fields[field] for field, needle in needles):
            return name
    return ""
