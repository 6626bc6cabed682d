"""The devices this machine can train on, as the Train page offers them.

Only devices that exist are offered: ``auto`` and ``cpu`` always, ``cuda`` when a CUDA GPU is usable
(its label names the GPU and its memory), ``mps`` on an Apple GPU. ``auto`` is resolved by
:func:`metalora.device.pick_device` when training starts.
"""

from __future__ import annotations

from app.strings import t


def available_devices(lang: str) -> dict[str, str]:
    """Device name -> label in ``lang``, for every device that exists here (``auto`` first); the list is
    the library's (:func:`metalora.device.available_devices`)."""
    from metalora.device import available_devices as found

    devices = {"auto": t("device_auto", lang)}
    for d in found():
        kind = d["device"].split(":")[0]
        if kind == "cuda":
            memory = f"{d['memory_gib']:.0f}"
            devices[d["device"]] = t("device_cuda", lang, name=d["name"], memory=memory)
        elif kind == "mps":
            devices[d["device"]] = t("device_mps", lang)
        else:
            devices[d["device"]] = t("device_cpu", lang)
    return devices
