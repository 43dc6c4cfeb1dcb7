"""Care records of the simulated community: what a duty officer sees beside an alert (a
resident's age, conditions, mobility and language; the household's responders and key
holders), plausible and bilingual, drawn from a random stream of their own so that adding
them changed no traffic."""

from __future__ import annotations

import dataclasses
import random

from safehood.protocol import Household, KeyHolder, Resident, Responder

from ._rng import py_rng

_HANZI = {
    "Wang": "王", "Li": "李", "Zhang": "张", "Liu": "刘", "Chen": "陈", "Yang": "杨",
    "Zhao": "赵", "Huang": "黄", "Zhou": "周", "Wu": "吴", "Xu": "徐", "Sun": "孙", "Hu": "胡",
    "Zhu": "朱", "Gao": "高", "Lin": "林", "He": "何", "Guo": "郭", "Ma": "马", "Luo": "罗",
    "Liang": "梁", "Song": "宋", "Zheng": "郑", "Xie": "谢",
}
_GIVEN = (("Jun", "军"), ("Hong", "红"), ("Lei", "磊"), ("Na", "娜"), ("Tao", "涛"),
          ("Jing", "静"), ("Peng", "鹏"), ("Xia", "霞"))
_GRID_WORKERS = (("Zhou Min", "周敏"), ("Sun Lei", "孙磊"), ("Ma Li", "马丽"))
# (en, zh) pairs; an officer reads one language, the other is for the colleague who doesn't.
_CONDITIONS = (
    ("hypertension", "高血压"), ("type 2 diabetes", "2型糖尿病"), ("heart failure", "心力衰竭"),
    ("COPD", "慢阻肺"), ("hearing loss", "听力下降"), ("osteoporosis", "骨质疏松"),
    ("atrial fibrillation", "房颤"), ("poor eyesight", "视力差"),
)
_MOBILITY = (
    ("walks with a walker; slow on stairs", "用助行器；上下楼梯慢"),
    ("uses a cane outdoors", "外出拄拐杖"),
    ("wheelchair; cannot use the stairs", "轮椅；不能走楼梯"),
    ("walks unaided", "行动自如"),
)
_CHILD = (("son", "儿子"), ("daughter", "女儿"))
_DISTANCE = (("lives 20 min away by car", "开车20分钟"), ("lives in the next building", "住隔壁楼"),
             ("works in town, answers after 18:00", "在市里上班，18点后接电话"))
UNITS_PER_FLOOR = 2


def _phone(rng: random.Random) -> str:
    return f"+86 1{rng.choice('3589')}{rng.randint(0, 9)} {rng.randint(0, 9999):04d} " \
           f"{rng.randint(0, 9999):04d}"


def _both(pair: tuple[str, str]) -> str:
    return f"{pair[0]} / {pair[1]}"


def floor_and_unit(unit_index: int) -> tuple[int, str]:
    """Floor and unit label ("301") of the ``unit_index``-th (1-based) home of a building."""
    floor = (unit_index - 1) // UNITS_PER_FLOOR + 1
    return floor, f"{floor}{(unit_index - 1) % UNITS_PER_FLOOR + 1:02d}"


def with_care_record(household: Household, residents: list[Resident], unit_index: int,
                     seed: int) -> tuple[Household, list[Resident]]:
    """``household`` and its ``residents`` with a care record drawn for them."""
    rng = py_rng(seed, "care", household.id)
    floor, unit = floor_and_unit(unit_index)
    surname = residents[0].name.split()[0] if residents else "Wang"
    elderly = [r for r in residents if r.elderly]
    given, given_zh = rng.choice(_GIVEN)
    child, child_zh = rng.choice(_CHILD)
    distance = rng.choice(_DISTANCE)
    responders = [Responder(
        name=f"{_HANZI.get(surname, '')}{given_zh} ({surname} {given})", relation="family",
        phone=_phone(rng), note=f"{child}, {distance[0]} / {child_zh}，{distance[1]}")]
    key_holders: list[KeyHolder] = []
    if elderly:
        # The other home on the same floor.
        neighbour_unit = f"{floor}{(unit_index % UNITS_PER_FLOOR) + 1:02d}"
        neighbour_surname = rng.choice([s for s in _HANZI if s != surname])
        n_given, n_given_zh = rng.choice(_GIVEN)
        neighbour = f"{_HANZI[neighbour_surname]}{n_given_zh} ({neighbour_surname} {n_given})"
        neighbour_phone = _phone(rng)
        responders.append(Responder(
            name=neighbour, relation="neighbour", phone=neighbour_phone,
            note=f"unit {neighbour_unit}, usually home / {neighbour_unit}室，一般在家"))
        grid, grid_zh = rng.choice(_GRID_WORKERS)
        responders.append(Responder(
            name=f"{grid_zh} ({grid})", relation="grid_worker", phone=_phone(rng),
            note=f"grid worker of building {household.building} / {household.building}楼网格员"))
        key_holders.append(KeyHolder(
            name=neighbour, phone=neighbour_phone,
            access_note=f"spare key with unit {neighbour_unit}; chain on the door at night / "
                        f"备用钥匙在{neighbour_unit}室；晚上门有链条"))
    care_household = dataclasses.replace(
        household, floor=floor, unit=unit, responders=tuple(responders),
        key_holders=tuple(key_holders),
        access_notes=("door code at the grid office / 门禁码在网格办公室" if elderly else None))
    cared = []
    for resident in residents:
        if resident.elderly:
            conditions = [_both(c) for c in rng.sample(_CONDITIONS, rng.randint(1, 3))]
            if resident.dementia:
                conditions.insert(0, "dementia / 认知障碍")
            cared.append(dataclasses.replace(
                resident, birth_year=rng.randint(1934, 1952), conditions=tuple(conditions),
                mobility=_both(rng.choice(_MOBILITY)),
                language=rng.choices(("zh", "yue", "en"), weights=(8, 1, 1))[0]))
        else:
            cared.append(dataclasses.replace(
                resident, birth_year=rng.randint(1968, 2000), language="zh"))
    return care_household, cared
