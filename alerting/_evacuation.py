"""The evacuation message of a confirmed fire, for the building's other households and the
community's micro fire station, in Chinese and English (Chinese first when both)."""

from __future__ import annotations

from safehood.protocol import Alert, Registry

from . import const

_TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "exercise": "【演练】",
        "evacuate_title": "【火警】请立即疏散：{building}",
        "evacuate_body": ("{where}确认发生火灾。请立即走楼梯离开，不要乘电梯；随手关门；"
                          "有烟时低姿前行。到楼外后请告诉社区值班员您已安全；"
                          "如邻居需要帮助请拨打119。"),
        "station_title": "【火警】微型消防站请出动：{where}",
        "station_body": "{where}确认发生火灾，住户正在疏散。请立即出动并与社区值班员联系。",
        "clear_title": "【火警解除】{building}",
        "clear_body": "{where}的火警已解除，可以返回。谢谢配合。",
        "building": "{building}栋",
        "floor": "{floor}层",
        "unit": "{unit}室",
        "site": "（{site}）",
    },
    "en": {
        "exercise": "[EXERCISE] ",
        "evacuate_title": "[Fire] Evacuate now: {building}",
        "evacuate_body": ("A fire is confirmed at {where}. Leave now by the stairs, not the "
                          "lift; close doors behind you; keep low under smoke. Tell the duty "
                          "officer once you are outside; call 119 for a neighbour who needs "
                          "help."),
        "station_title": "[Fire] Micro fire station, turn out: {where}",
        "station_body": ("A fire is confirmed at {where}; residents are evacuating. Turn out "
                         "now and call the duty officer."),
        "clear_title": "[All clear] {building}",
        "clear_body": "The fire at {where} is over; residents may return. Thank you.",
        "building": "building {building}",
        "floor": "floor {floor}",
        "unit": "unit {unit}",
        "site": " ({site})",
    },
}
LANGUAGES = tuple(_TEXTS)


def fire_building(alert: Alert, registry: Registry | None) -> str | None:
    """The building an alert is in (its household's, or its device's)."""
    return None if registry is None else registry.building_of(alert.household, alert.device_id)


def _place(alert: Alert, registry: Registry | None, texts: dict[str, str]) -> tuple[str, str]:
    """(the building, the full place) in one language."""
    household = (registry.households.get(alert.household)
                 if registry is not None and alert.household else None)
    building_id = fire_building(alert, registry)
    building = texts["building"].format(building=building_id) if building_id else alert.site
    parts = [building]
    if household is not None and household.floor is not None:
        parts.append(texts["floor"].format(floor=household.floor))
    if household is not None and household.unit:
        parts.append(texts["unit"].format(unit=household.unit))
    sep = "" if texts is _TEXTS["zh"] else ", "
    return building, sep.join(parts) + texts["site"].format(site=alert.site)


def render_evacuation(alert: Alert, kind: str, audience: str, registry: Registry | None,
                      language: str | None) -> tuple[str, str]:
    """Title and body for a neighbour or the fire station: evacuate (or turn out) while the
    fire is on, all clear once it is resolved. ``language`` ``None`` gives both, Chinese
    first."""
    languages = (language,) if language in _TEXTS else LANGUAGES
    titles, bodies = [], []
    for lang in languages:
        texts = _TEXTS[lang]
        building, where = _place(alert, registry, texts)
        if kind == const.RESOLVED:
            key = "clear"
        elif audience == const.FIRE_STATION:
            key = "station"
        else:
            key = "evacuate"
        prefix = texts["exercise"] if alert.exercise else ""
        titles.append(prefix + texts[f"{key}_title"].format(building=building, where=where))
        bodies.append(texts[f"{key}_body"].format(where=where))
    return " / ".join(titles), "\n\n".join(bodies)
