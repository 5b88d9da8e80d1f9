"""Plausible Chinese personal and company names."""

from __future__ import annotations

import random

# The most common surnames, weighted roughly by frequency (王李张刘陈 lead).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强文博子涵浩然"
    "欣怡梓轩雨涵宇轩思远佳琪嘉怡俊杰一鸣晓东海燕丹丹春梅秋菊立新红梅玉兰家豪天宇"
)
COMPANY_STEMS = (
    "华信",
    "长江",
    "东方",
    "新安",
    "江南",
    "太湖",
    "钱塘",
    "皖通",
    "申通",
    "金陵",
    "恒泰",
    "瑞丰",
    "德昌",
    "宏远",
    "嘉禾",
    "鼎盛",
    "科达",
    "明珠",
    "天成",
    "永安",
)
COMPANY_TRADES = (
    "科技",
    "贸易",
    "建设",
    "物流",
    "餐饮",
    "医药",
    "电子",
    "纺织",
    "食品",
    "投资",
    "文化",
    "置业",
)
CITY_PREFIX = {"31": "上海", "32": "江苏", "33": "浙江", "34": "安徽"}


def person_name(rng: random.Random) -> str:
    surname = SURNAMES[min(int(rng.expovariate(1 / 25)), len(SURNAMES) - 1)]
    length = 1 if rng.random() < 0.35 else 2
    return surname + "".join(rng.choice(GIVEN) for _ in range(length))


def company_name(rng: random.Random, province: str) -> str:
    suffix = rng.choice(("有限公司", "股份有限公司", "有限责任公司"))
    return (
        CITY_PREFIX.get(province, "")
        + rng.choice(COMPANY_STEMS)
        + rng.choice(COMPANY_TRADES)
        + suffix
    )
