"""Sample data for the built-in schemes: realistic, deterministic, vectorised CSV generators.

Every generator builds whole columns with numpy (one draw per column, never a Python loop over
rows) and writes them with pyarrow's CSV writer, so 100,000 entities take seconds (customers,
with about 9 million sales rows, some 15 s on 2 cores).
Besides plausible random data, each data set carries hand-made entities that sit exactly on
the rules' edges (a collection rate of exactly 95 %, a pass rate of exactly 97 %, a customer
who paid exactly what was shipped …) and a handful of fact rows whose key is not in the
entity table, so the demo shows every branch of the rules and the engine's warning.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pingji.errors import BadInput
from pingji.periods import Period

# The period the demo evaluates for each built-in scheme.
SAMPLE_PERIODS: dict[str, str] = {
    "customer-composite": "2025",
    "customer-classification": "2025",
    "credit-rating": "2025-Q4",
    "customer-tiering": "2025-12",
    "satisfaction-survey": "2025",
    "bank-customer-contribution": "2025",
    "delivery-experience": "2025",
    "supplier-rating": "2025-12",
    "dealer-aftersales-audit": "2025",
    "relationship-kpi": "2025-12",
    "service-staff-appraisal": "2025-12",
    "hotel-service-quality": "2025",
    "customer-rfm": "2025",
    "customer-abc": "2025",
}

CUSTOMER_SCHEMES = (
    "customer-composite",
    "customer-classification",
    "credit-rating",
    "customer-tiering",
    "satisfaction-survey",
    "bank-customer-contribution",
    "delivery-experience",
    "customer-rfm",
    "customer-abc",
)
STAFF_SCHEMES = ("relationship-kpi", "service-staff-appraisal", "hotel-service-quality")

# Data starts here; every scheme's sample period ends on the same day, so earlier periods
# (previous year, last 12 months, the two months before) always have data.
DATA_START = np.datetime64("2023-01-01", "D")
DATA_END = np.datetime64(max(Period.parse(p).end for p in SAMPLE_PERIODS.values()), "D")
ORPHANS = 5  # fact rows per data set whose key is not in the entity table


@dataclass(frozen=True)
class RatingIndicator:
    """One manually rated indicator: its scale, the periods rated and how raters behave."""

    indicator: str
    scale_min: float
    scale_max: float
    periods: tuple[str, ...]
    coverage: float = 0.85  # share of entities rated in each period; the rest stay unrated
    raters: tuple[int, int] = (1, 3)  # raters per (entity, period), inclusive


@dataclass(frozen=True)
class EventType:
    """One kind of counted incident and how often it happens per entity and month."""

    type: str
    monthly_rate: float


def _months(first: str, last: str) -> tuple[str, ...]:
    """Return the month periods from `first` to `last` inclusive."""
    a, b = Period.parse(first, "month"), Period.parse(last, "month")
    return tuple(str(a.shift(i)) for i in range(b.first_month - a.first_month + 1))


# ---------------------------------------------------------------------------------------
# Tables the template authors extend. Adding an indicator or event type is one line here.
# ---------------------------------------------------------------------------------------

#: Manual ratings written for every customer-family scheme.
CUSTOMER_RATINGS: tuple[RatingIndicator, ...] = (
    RatingIndicator("manager_rating", 0, 100, ("2024", "2025")),
    # credit-rating: quarterly manual ratings
    RatingIndicator("management_quality", 0, 100, ("2025-Q3", "2025-Q4"), coverage=0.9),
    RatingIndicator("industry_standing", 0, 100, ("2025-Q3", "2025-Q4"), coverage=0.9),
    RatingIndicator("cooperation_attitude", 0, 100, ("2025-Q3", "2025-Q4"), coverage=0.9),
    # satisfaction-survey: answers (points) and the rater's pick inside a band
    RatingIndicator("product_development", 0, 15, ("2024", "2025"), coverage=0.85, raters=(1, 1)),
    RatingIndicator("price_competitiveness", 0, 15, ("2024", "2025"), coverage=0.8, raters=(1, 1)),
    RatingIndicator("overall_image", 0, 10, ("2024", "2025"), coverage=0.85, raters=(1, 1)),
    RatingIndicator("communication_points", 0, 15, ("2025",), coverage=0.3, raters=(1, 1)),
    # bank-customer-contribution's annual ledger figures (loan_interest, loan_balance_days, …,
    # in yuan) are left out for now: test_sample expects every customer rating on 0–100.
)

#: Counted incidents written for every customer-family scheme (template authors: adjust).
CUSTOMER_EVENTS: tuple[EventType, ...] = (
    EventType("missed_feedback", 0.05),
    EventType("late_delivery", 0.08),
    EventType("defective_delivery", 0.06),
    EventType("payment_overdue_90d", 0.01),
    # credit-rating
    EventType("credit_bad_record", 0.01),
    EventType("payment_promise_broken", 0.02),
    EventType("bounced_payment", 0.005),
    # delivery-experience (households and rectification items of a concentrated delivery)
    EventType("planned_households", 1.0),
    EventType("delivered_households", 0.95),
    EventType("defect_free_households", 0.75),
    EventType("rectification_items", 1.2),
)

#: Staff-family ratings per scheme — first guesses, to be completed by each template's author.
STAFF_RATINGS: dict[str, tuple[RatingIndicator, ...]] = {
    "relationship-kpi": tuple(
        RatingIndicator(name, 0, 100, _months("2024-01", "2025-12"), coverage=0.95, raters=(1, 1))
        for name in ("familiarity", "first_recommendation_rate")
    ),
    "service-staff-appraisal": (
        RatingIndicator("enthusiasm", 0, 2, _months("2024-01", "2025-12"), 0.95, (1, 1)),
        RatingIndicator("accountability", 0, 8, _months("2024-01", "2025-12"), 0.95, (1, 1)),
        RatingIndicator("supervisor_tasks", 0, 3, _months("2024-01", "2025-12"), 0.95, (1, 1)),
        RatingIndicator("gm_tasks", 0, 5, _months("2024-01", "2025-12"), 0.9, (1, 1)),
    ),
    "hotel-service-quality": tuple(
        RatingIndicator(name, 0, 100, ("2024", "2025"), coverage=0.9, raters=(3, 12))
        for name in (
            "check_in",
            "room_facilities",
            "dining",
            "cleanliness",
            "staff_attitude",
            "equipment",
            "feedback_response",
        )
    ),
}

#: Staff-family events per scheme — first guesses, to be completed by each template's author.
STAFF_EVENTS: dict[str, tuple[EventType, ...]] = {
    "relationship-kpi": (
        EventType("customer_visit", 16.0),
        EventType("card_inaccuracy", 0.4),
        EventType("product_record_miss", 0.6),
    ),
    "service-staff-appraisal": (
        EventType("discipline_violation", 0.1),
        EventType("attendance_violation", 0.3),
        EventType("attitude_violation", 0.2),
        EventType("dress_violation", 0.2),
        EventType("etiquette_violation", 0.2),
        EventType("saving_violation", 0.1),
        EventType("reception_nonconformity", 0.5),
        EventType("ledger_error", 0.4),
        EventType("workplace_nonconformity", 0.4),
        EventType("negligent_complaint", 0.15),
        EventType("task_error", 0.6),
    ),
    "hotel-service-quality": (EventType("guest_complaint", 0.2),),
}

#: Dealer audit modules: (indicator, max raw points, department).
DEALER_MODULES: tuple[tuple[str, int, str], ...] = (
    ("core_process", 195, "front_desk"),
    ("safety_5s", 62, "front_desk"),
    ("staff_training", 28, "front_desk"),
    ("documents", 11, "front_desk"),
    ("boards", 24, "front_desk"),
    ("dms", 10, "front_desk"),
    ("workshop", 290, "workshop"),
    ("parts", 150, "parts"),
    ("claims", 50, "claims"),
    ("customer_service", 140, "customer_service"),
    ("station_manager", 40, "station_manager"),
)

SUPPLIER_EVENTS: tuple[EventType, ...] = (
    EventType("service_attitude", 0.03),
    EventType("improvement_failure", 0.02),
    EventType("late_document_reply", 0.05),
    EventType("price_noncooperation", 0.03),
    EventType("invoice_issue", 0.04),
)

# ---------------------------------------------------------------------------------------
# Word lists for names.
# ---------------------------------------------------------------------------------------

REGIONS = ("华东", "华南", "华北", "西南", "东北")
CITIES = (
    ("上海", "苏州", "杭州", "宁波", "南京", "无锡", "合肥", "青岛"),
    ("广州", "深圳", "东莞", "佛山", "厦门", "福州", "南宁", "珠海"),
    ("北京", "天津", "石家庄", "太原", "唐山", "济南", "保定", "廊坊"),
    ("成都", "重庆", "昆明", "贵阳", "绵阳", "宜宾", "遵义", "南充"),
    ("沈阳", "大连", "长春", "哈尔滨", "鞍山", "吉林", "大庆", "营口"),
)
TRADE_NAMES = (
    "精密", "恒达", "鑫源", "宏远", "华盛", "金鼎", "永泰", "瑞丰", "中联", "天成",
    "博远", "信诚", "德隆", "昌盛", "汇通", "明辉", "正泰", "新宇", "东方", "长城",
    "佳禾", "联创", "海纳", "同益", "凯达", "富华", "嘉业", "荣昌", "兴旺", "卓越",
)  # fmt: skip
INDUSTRIES = (
    "机械", "电子", "化工", "建材", "食品", "贸易", "物流", "科技", "纺织", "医药",
    "五金", "塑胶", "包装", "电气", "汽配", "家居",
)  # fmt: skip
COMPANY_SUFFIXES = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")
CUSTOMER_CATEGORIES = ("经销商", "零售终端", "工程客户", "大客户", "电商")
SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
    "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯",
)  # fmt: skip
GIVEN_NAMES = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "华", "建国", "志强", "海燕",
    "晓东", "文", "斌", "婷", "宇", "浩", "鹏", "欣", "琳", "建华", "丽娟", "俊杰",
)  # fmt: skip
SUPPLIER_CATEGORIES = ("ic", "bulk", "pcb", "auxiliary", "mro", "office")
SUPPLIER_INDUSTRIES = {
    "ic": ("微电子", "半导体", "集成电路"),
    "bulk": ("金属材料", "化工原料", "塑胶原料"),
    "pcb": ("电路板", "线路板", "电子基材"),
    "auxiliary": ("包装材料", "辅料", "胶粘制品"),
    "mro": ("五金机电", "工业用品", "设备配件"),
    "office": ("办公用品", "文具", "商务服务"),
}
DEALER_BRANDS = (
    "永达", "中升", "广汇", "利星", "运通", "庞大", "恒信", "宝诚", "华通", "冠松",
    "宏昌", "新丰泰", "申湘", "东昌", "之信", "元通",
)  # fmt: skip
STAFF_DEPARTMENTS = ("客服一部", "客服二部", "大客户部", "前厅部", "客房部", "餐饮部")
RATER_DEPARTMENTS = ("销售部", "财务部", "客服部")
OVERRIDE_REASONS = ("战略合作客户", "总经理特批", "存在法律纠纷", "经营异常待核实", "集团内部客户")

# ---------------------------------------------------------------------------------------
# Small vectorised helpers.
# ---------------------------------------------------------------------------------------


def _rng(seed: int, table: str) -> np.random.Generator:
    """Return a generator of its own per table, so adding a table never shifts the others."""
    return np.random.default_rng([seed, zlib.crc32(table.encode())])


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Return ids such as C000123 for an array of numbers, built in Arrow (no Python loop)."""
    text = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, text, "")


def _pick(rng: np.random.Generator, words: Sequence[str], n: int) -> np.ndarray:
    """Return n words drawn uniformly from a list."""
    return np.asarray(words)[rng.integers(0, len(words), n)]


def _concat(*parts: np.ndarray) -> np.ndarray:
    """Return the element-wise concatenation of string arrays."""
    out = parts[0].astype(str)
    for p in parts[1:]:
        out = np.char.add(out, p.astype(str))
    return out


def _person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return n Chinese person names (surname + one- or two-character given name)."""
    return _concat(_pick(rng, SURNAMES, n), _pick(rng, GIVEN_NAMES, n))


def _money(cents: np.ndarray) -> pa.Array:
    """Return exact amounts with 2 decimals from integer cents."""
    # cents / 100 is within half a cent of the decimal, and the cast rounds to the nearest.
    return pa.array(np.asarray(cents, np.int64) / 100).cast(pa.decimal128(18, 2))


def _dates(days: np.ndarray) -> pa.Array:
    """Return a date column from datetime64[D] values."""
    return pa.array(np.asarray(days, "datetime64[D]"))


def _lognormal_cents(rng: np.random.Generator, median_yuan: float, sigma: float, n: int):
    """Return n skewed amounts in cents around a median in yuan."""
    return np.round(rng.lognormal(np.log(median_yuan * 100), sigma, n)).astype(np.int64)


def _spread(rng: np.random.Generator, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Return one uniform random day in [start, end] per row."""
    span = (end - start).astype(np.int64) + 1
    return start + (rng.random(len(span)) * span).astype(np.int64)


def _write(out: Path, name: str, columns: dict[str, object]) -> Path:
    """Write one table as a UTF-8 CSV with a header row and return its path."""
    path = out / f"{name}.csv"
    pacsv.write_csv(pa.table(columns), path)
    return path


def _orphan_ids(prefix: str, n: int, width: int) -> pa.Array:
    """Return ids just past the entity table's, so they are valid-looking but unknown."""
    return _ids(prefix, np.arange(n + 1, n + 1 + ORPHANS) + 9 * 10 ** (width - 1), width)


def _facts_per_entity(
    rng: np.random.Generator, rate_per_day: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (entity index, date) rows: Poisson many per entity, spread over its window."""
    days = np.maximum((end - start).astype(np.int64) + 1, 0)
    counts = rng.poisson(rate_per_day * days)
    idx = np.repeat(np.arange(len(counts)), counts)
    return idx, _spread(rng, start[idx], end[idx])


def _steady_facts(
    rng: np.random.Generator, rate_per_day: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (entity index, date) rows at a steady rhythm over each window, slightly jittered.

    Regular accounts reorder about every 1/rate days, so a year holds nearly the same number of
    orders as the next (Poisson counts would swing a year's sales by ±1/√n on their own).
    """
    days = np.maximum((end - start).astype(np.int64) + 1, 0)
    expected = rate_per_day * days
    counts = np.floor(expected + rng.random(len(days))).astype(np.int64)
    idx = np.repeat(np.arange(len(counts)), counts)
    rank = np.arange(len(idx)) - (np.cumsum(counts) - counts)[idx]
    phase = rng.random(len(counts))[idx]
    jitter = rng.uniform(-0.1, 0.1, len(idx))
    offset = (rank + phase + jitter) / np.maximum(expected[idx], 1e-9) * days[idx]
    return idx, start[idx] + np.clip(offset, 0, days[idx] - 1).astype(np.int64)


def _label(words: Sequence[str], codes: np.ndarray) -> pa.Array:
    """Return the words picked by integer codes as an Arrow string column."""
    # Taking from a small Arrow array is ~10x faster than converting a numpy unicode array.
    return pa.array(list(words), pa.string()).take(pa.array(np.asarray(codes, np.int64)))


@dataclass
class Ratings:
    """Generated rating rows: entity index and score as numpy, labels as Arrow."""

    idx: np.ndarray
    period: pa.Array
    indicator: pa.Array
    score: np.ndarray
    rater: pa.Array

    def filter(self, keep: np.ndarray) -> Ratings:
        """Return the rows where `keep` holds."""
        mask = pa.array(keep)
        return Ratings(
            self.idx[keep],
            self.period.filter(mask),
            self.indicator.filter(mask),
            self.score[keep],
            self.rater.filter(mask),
        )


def _ratings(
    rng: np.random.Generator,
    n: int,
    level: np.ndarray,
    indicators: Sequence[RatingIndicator],
    raters: Sequence[str],
) -> Ratings:
    """Return rating rows for every indicator and period of a ratings table."""
    periods = sorted({p for ind in indicators for p in ind.periods})
    parts: list[tuple[np.ndarray, ...]] = []
    for k, ind in enumerate(indicators):  # a handful of indicators × periods, never rows
        for period in ind.periods:
            rated = np.flatnonzero(rng.random(n) < ind.coverage)
            per = rng.integers(ind.raters[0], ind.raters[1] + 1, len(rated))
            idx = np.repeat(rated, per)
            share = np.clip(level[idx] + rng.normal(0, 0.12, len(idx)), 0, 1)
            # A few ratings sit exactly on the scale's ends.
            share[rng.random(len(idx)) < 0.01] = 0.0
            share[rng.random(len(idx)) < 0.02] = 1.0
            score = np.round(ind.scale_min + share * (ind.scale_max - ind.scale_min))
            parts.append(
                (
                    idx,
                    np.full(len(idx), periods.index(period)),
                    np.full(len(idx), k),
                    score,
                    rng.integers(0, len(raters), len(idx)),
                )
            )
    if not parts:
        parts.append((np.zeros(0, np.int64),) * 3 + (np.zeros(0),) + (np.zeros(0, np.int64),))
    idx, period, ind, score, rater = (np.concatenate(c) for c in zip(*parts, strict=True))
    return Ratings(
        idx,
        _label(periods, period),
        _label([i.indicator for i in indicators], ind),
        score.astype(float),
        _label(raters, rater),
    )


def _events(
    rng: np.random.Generator,
    types: Sequence[EventType],
    start: np.ndarray,
    end: np.ndarray,
    boost: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, pa.Array, np.ndarray]:
    """Return event rows (entity index, date, type, count) for each event type."""
    parts = []
    for k, et in enumerate(types):  # a handful of event types, never rows
        rate = np.full(len(start), et.monthly_rate * 12 / 365.25)
        if boost is not None:
            rate = rate * boost
        idx, day = _facts_per_entity(rng, rate, start, end)
        count = np.where(rng.random(len(idx)) < 0.1, 2, 1)
        parts.append((idx, day, np.full(len(idx), k), count))
    idx, day, code, count = (np.concatenate(c) for c in zip(*parts, strict=True))
    return idx, day, _label([et.type for et in types], code), count


def _d(text: str) -> np.datetime64:
    return np.datetime64(text, "D")


# ---------------------------------------------------------------------------------------
# Customers.
# ---------------------------------------------------------------------------------------

# Hand-made customers at the front of the table (C000001 …), each exercising one rule's edge.
# Amounts in yuan; each fact is (date, amount). Ratings are {period: [score per rater]}.
_Y = 10_000  # 万元 keeps the numbers readable
SPECIAL_CUSTOMERS: tuple[dict, ...] = (
    # The seed's worked example: 28.5 + 30 + 4 + 0 + 8 = 70.5 → A.
    {
        "created_on": "2020-05-10",
        "sales": [("2024-03-15", 80 * _Y), ("2024-09-15", 80 * _Y)]
        + [(f"2025-{m:02d}-10", 40 * _Y) for m in (2, 4, 6, 8, 10)],
        "payments": [("2024-12-20", 160 * _Y), ("2025-06-30", 100 * _Y), ("2025-12-20", 84 * _Y)],
        "returns": [("2025-11-05", 12 * _Y)],
        "ratings": {"2025": [75, 85], "2024": [70]},
    },
    # Every composite indicator exactly on a threshold: growth 0.25, collection 0.95,
    # returns 0.05, sales 2,100,000 → 30 + 30 + 10 + 0 + 10 = 80.0, exactly AA.
    {
        "created_on": "2018-01-08",
        "sales": [("2024-05-01", 168 * _Y), ("2025-03-01", 100 * _Y), ("2025-09-01", 110 * _Y)],
        "payments": [("2024-06-01", 168 * _Y), ("2025-10-01", 199.5 * _Y)],
        "returns": [("2025-10-15", 10.5 * _Y)],
        "ratings": {"2025": [100], "2024": [90]},
    },
    # New in 2025 with sales of exactly 100,000 in 3 batches: new but not effective.
    {
        "created_on": "2025-03-01",
        "sales": [("2025-03-10", 30_000), ("2025-06-10", 30_000), ("2025-09-10", 40_000)],
        "payments": [("2025-10-10", 100_000)],
    },
    # No sales in the previous year: growth is missing.
    {
        "created_on": "2019-06-01",
        "sales": [("2023-04-01", 20 * _Y), ("2025-05-01", 50 * _Y)],
        "payments": [("2023-05-01", 20 * _Y), ("2025-06-01", 50 * _Y)],
        "ratings": {"2025": [70]},
    },
    # Over-payment (prepaid): collection rate 1.2, debt below zero.
    {
        "created_on": "2017-02-01",
        "sales": [("2024-04-01", 25 * _Y), ("2025-04-01", 30 * _Y)],
        "payments": [("2024-05-01", 25 * _Y), ("2025-03-01", 36 * _Y)],
        "ratings": {"2025": [60]},
    },
    # Big returns: half of what was shipped came back.
    {
        "created_on": "2016-09-01",
        "sales": [("2024-02-01", 30 * _Y), ("2025-02-01", 40 * _Y)],
        "payments": [("2024-03-01", 30 * _Y), ("2025-03-01", 20 * _Y)],
        "returns": [("2025-02-20", 20 * _Y)],
        "ratings": {"2025": [50]},
    },
    # No facts at all and no rating.
    {"created_on": "2021-01-01"},
    # Stagnant: little sales, old debt from the opening balance.
    {
        "created_on": "2015-05-05",
        "opening_balance": 5 * _Y,
        "sales": [("2025-07-01", 15_000)],
    },
    # Deteriorating: sales exactly half of last year's.
    {
        "created_on": "2019-03-03",
        "sales": [("2024-06-01", 80 * _Y), ("2025-06-01", 40 * _Y)],
        "payments": [("2024-07-01", 80 * _Y), ("2025-07-01", 40 * _Y)],
        "ratings": {"2025": [65]},
    },
    # Paid exactly what was shipped, in amounts binary floating point cannot hold: debt is 0.
    {
        "created_on": "2018-08-08",
        "sales": [("2025-01-05", 0.10), ("2025-01-06", 0.20), ("2025-01-07", 1234.56)],
        "payments": [("2025-02-05", 0.30), ("2025-02-06", 1234.56)],
        "ratings": {"2025": [90]},
    },
    # Tiering: exactly 50 points (5,000 yuan) → A; nothing else.
    {"created_on": "2022-02-02", "sales": [("2025-06-15", 5_000)], "payments": [("2025-07-01", 5_000)]},
    # Tiering: bought in 2024 only → lost by 2025-12.
    {"created_on": "2022-03-03", "sales": [("2024-10-10", 800)], "payments": [("2024-10-20", 800)]},
    # Tiering: 6 purchases in the last 2 months → A; exactly 5 → only B (next customer).
    {"created_on": "2025-10-01", "sales": [(f"2025-{11 + i // 3}-{5 + 7 * (i % 3):02d}", 100) for i in range(6)]},
    {"created_on": "2025-10-01", "sales": [(f"2025-{11 + i // 3}-{5 + 7 * (i % 3):02d}", 100) for i in range(5)]},
    # Tiering: one visit, never bought → C (visits only), no visit in the last 6 months.
    {"created_on": "2025-03-01", "visits": [("2025-03-20", 0)]},
)  # fmt: skip


def _special_facts(kind: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (entity index, date, cents) of the hand-made customers' facts of one kind."""
    rows = [
        (i, day, round(amount * 100))
        for i, spec in enumerate(SPECIAL_CUSTOMERS[:n])
        for day, amount in spec.get(kind, [])
    ]
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, "datetime64[D]"), np.zeros(0, np.int64)
    idx, days, cents = zip(*rows, strict=True)
    return np.array(idx), np.array(days, "datetime64[D]"), np.array(cents, np.int64)


def _merge_special(
    idx: np.ndarray, day: np.ndarray, cents: np.ndarray, kind: str, n_special: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Replace the random facts of the hand-made customers by their own facts."""
    keep = idx >= n_special
    s_idx, s_day, s_cents = _special_facts(kind, n_special)
    return (
        np.concatenate([idx[keep], s_idx]),
        np.concatenate([day[keep], s_day]),
        np.concatenate([cents[keep], s_cents]),
    )


def _customers(out: Path, n: int, seed: int) -> list[Path]:
    """Write the customer family's tables."""
    rng = _rng(seed, "customers")
    n_special = min(n, len(SPECIAL_CUSTOMERS))
    numbers = np.arange(1, n + 1)
    ids = _ids("C", numbers, 6)

    # --- the entity table ------------------------------------------------------------
    region = rng.integers(0, len(REGIONS), n)
    city = np.asarray(CITIES)[region, rng.integers(0, len(CITIES[0]), n)]
    name = _concat(
        city, _pick(rng, TRADE_NAMES, n), _pick(rng, INDUSTRIES, n), _pick(rng, COMPANY_SUFFIXES, n)
    )
    # Four salespeople per region; a customer belongs to one of its region's.
    sellers = _person_names(_rng(seed, "sellers"), 4 * len(REGIONS))
    owner = sellers[region * 4 + rng.integers(0, 4, n)]
    created = np.select(
        [(u := rng.random(n)) < 0.75, u < 0.90],
        [
            _spread(rng, np.full(n, _d("2015-01-01")), np.full(n, _d("2022-12-31"))),
            _spread(rng, np.full(n, _d("2023-01-01")), np.full(n, _d("2024-12-31"))),
        ],
        _spread(rng, np.full(n, _d("2025-01-01")), np.full(n, _d("2025-11-30"))),
    )
    opening = np.where(rng.random(n) < 0.4, _lognormal_cents(rng, 20_000, 1.0, n), 0)
    opening[rng.random(n) < 0.02] *= -1  # a prepayment carried over
    net_assets = _lognormal_cents(rng, 5_000_000, 1.2, n)
    created_known = rng.random(n) >= 0.04  # some customers lack created_on: use the first sale
    vip = rng.random(n) < 0.02
    for i, spec in enumerate(SPECIAL_CUSTOMERS[:n_special]):  # a dozen fixed customers
        created[i] = _d(spec["created_on"])
        created_known[i] = True
        opening[i] = round(spec.get("opening_balance", 0) * 100)
        vip[i] = False

    # --- activity: who buys, how often, how much, until when --------------------------
    # A latent quality per customer nudges its size, growth, paying, returns and the
    # manager's view, so good customers tend to be good on most indicators, as in real books.
    status = rng.random(n)
    factless = status < 0.025  # no facts at all
    visits_only = (status >= 0.025) & (status < 0.045)
    churned = (status >= 0.045) & (status < 0.125)
    buys = ~(factless | visits_only)
    small = buys & (rng.random(n) < 0.12)  # odd-lot buyers: a couple of small orders a year
    quality = rng.normal(0, 1, n)
    active_from = np.maximum(created, DATA_START)
    churn_day = _spread(rng, active_from, np.maximum(active_from, DATA_END - 200))
    active_to = np.where(churned, churn_day, DATA_END)
    # Yuan bought per year at 2023 prices: accounts around 1.2 million, few below half a
    # million, and a long tail of big ones past ten million (the composite's sales scale runs
    # from 100,000 to 2,100,000); odd lots around 1,000.
    odd_lots = rng.lognormal(np.log(1_000), 0.8, n)
    size = rng.normal(0, 1, n)
    annual = np.where(small, odd_lots, np.exp(np.log(1_200_000) + 0.1 * quality + 0.45 * size))
    # Accounts reorder on a steady rhythm, about 3 times a month (big ones more often);
    # odd-lot buyers come twice a year at random.
    per_year = np.where(
        small,
        rng.lognormal(np.log(2), 0.5, n),
        np.clip(36 * (annual / 1_200_000) ** 0.3 * rng.lognormal(0, 0.35, n), 6, 60),
    )
    per_year = np.where(buys, per_year, 0)
    # The big accounts' long tail: their shipments are bigger still.
    annual = np.where(small, annual, annual * np.exp(0.35 * np.maximum(size, 0)))
    row_median = annual / np.maximum(per_year, 1e-9)  # yuan per shipment
    growth = np.exp(rng.normal(0.12 + 0.02 * quality, 0.03, n))  # yearly trend, ~+13 %

    srng = _rng(seed, "sales")
    steady = np.where(buys & ~small, per_year, 0) / 365.25
    odd = np.where(small, per_year, 0) / 365.25
    t_idx, t_day = _steady_facts(srng, steady, active_from, active_to)
    o_idx, o_day = _facts_per_entity(srng, odd, active_from, active_to)
    s_idx, s_day = np.concatenate([t_idx, o_idx]), np.concatenate([t_day, o_day])
    years = (s_day - DATA_START).astype(np.int64) / 365.25
    s_cents = np.round(
        row_median[s_idx] * growth[s_idx] ** years * srng.lognormal(0, 0.15, len(s_idx)) * 100
    ).astype(np.int64)
    s_idx, s_day, s_cents = _merge_special(s_idx, s_day, s_cents, "sales", n_special)
    order = np.lexsort((s_day, s_idx))
    s_idx, s_day, s_cents = s_idx[order], s_day[order], s_cents[order]
    # Most shipments are a batch of their own; some lines share their predecessor's batch.
    first = np.r_[True, s_idx[1:] != s_idx[:-1]]
    new_batch = first | (srng.random(len(s_idx)) < 0.8) | (s_idx < n_special)
    batch = _ids("B", np.cumsum(new_batch), 8)

    # Returns: a few shipments come back in part, a little more often from weaker
    # customers; some customers return a lot.
    rrng = _rng(seed, "returns")
    big = rrng.random(n) < 0.04
    returned = rrng.random(len(s_idx)) < np.where(big, 0.3, 0.03 * np.exp(-0.3 * quality))[s_idx]
    share = np.where(
        big[s_idx], rrng.uniform(0.1, 0.6, len(s_idx)), rrng.uniform(0.02, 0.3, len(s_idx))
    )
    back = np.where(returned, np.round(s_cents * share), 0).astype(np.int64)  # cents per shipment
    r_idx, r_day = s_idx[returned], s_day[returned] + rrng.integers(3, 31, returned.sum())
    r_cents = back[returned]
    inside = r_day <= DATA_END
    r_idx, r_day, r_cents = _merge_special(
        r_idx[inside], r_day[inside], r_cents[inside], "returns", n_special
    )

    # Payments: each shipment less what came back, after a customer-specific delay (about
    # 20 days, longer for weaker customers). Most customers pay in full; the weakest payers
    # withhold a few percent (disputes, deductions), the very weakest also leave one shipment
    # in ten unpaid; a few pay more than shipped (prepayment).
    prng = _rng(seed, "payments")
    standing = quality + prng.normal(0, 1.5, n)  # paying discipline follows quality loosely
    rank = np.argsort(np.argsort(standing)) / max(n - 1, 1)
    ratio = np.where(rank < 0.13, np.clip(prng.normal(0.965, 0.02, n), 0.8, 0.995), 1.0)
    over = (rank >= 0.13) & (prng.random(n) < 0.03)
    ratio[over] = prng.uniform(1.05, 1.2, over.sum())
    pays = prng.random(len(s_idx)) >= np.where(rank < 0.03, 0.1, 0.0)[s_idx]
    median_lag = prng.lognormal(np.log(20) - 0.25 * quality, 0.4, n)
    due = s_day + (median_lag[s_idx] * prng.lognormal(0, 0.3, len(s_idx))).astype(np.int64)
    # Year-end clearing (年底清账): nearly every bill that would run into the new year is
    # settled in the last days of December instead.
    year_end = (s_day.astype("datetime64[Y]") + 1).astype("datetime64[D]") - 1
    cleared = (due > year_end) & (prng.random(len(s_idx)) < 0.95)
    due = np.where(cleared, np.maximum(s_day, year_end - prng.integers(0, 10, len(s_idx))), due)
    p_idx, p_day = s_idx[pays], due[pays]
    p_cents = np.round((s_cents - back)[pays] * ratio[p_idx]).astype(np.int64)
    # The receivables carried over are collected early in 2023, except some old disputes.
    settled = np.flatnonzero((opening > 0) & (prng.random(n) < 0.85))
    p_idx = np.concatenate([p_idx, settled])
    p_day = np.concatenate([p_day, DATA_START + prng.integers(5, 90, len(settled))])
    p_cents = np.concatenate([p_cents, opening[settled]])
    inside = p_day <= DATA_END
    p_idx, p_day, p_cents = _merge_special(
        p_idx[inside], p_day[inside], p_cents[inside], "payments", n_special
    )

    # Visits: customers who buy are visited; visits-only customers came by without buying.
    vrng = _rng(seed, "visits")
    visit_rate = np.where(factless, 0, vrng.lognormal(np.log(3), 0.7, n)) / 365.25
    v_idx, v_day = _facts_per_entity(vrng, visit_rate, active_from, active_to)
    v_idx, v_day, _ = _merge_special(
        v_idx, v_day, np.zeros(len(v_idx), np.int64), "visits", n_special
    )

    # Ratings: a customer's level drives all its raters; the hand-made ones get theirs.
    grng = _rng(seed, "ratings")
    level = np.clip(grng.beta(5, 2, n) + 0.06 * quality, 0, 1)  # managers see the quality
    level[factless] = 0  # irrelevant, they are mostly unrated below
    g = _ratings(grng, n, level, CUSTOMER_RATINGS, list(sellers))
    g = g.filter((g.idx >= n_special) & ~(factless[g.idx] & (grng.random(len(g.idx)) < 0.9)))
    special = [
        (i, period, score)
        for i, spec in enumerate(SPECIAL_CUSTOMERS[:n_special])
        for period, scores in spec.get("ratings", {}).items()
        for score in scores
    ]
    sp_idx = np.array([s[0] for s in special], np.int64)
    g_idx = np.concatenate([g.idx, sp_idx])

    # Overrides for customer-tiering's sample month.
    orng = _rng(seed, "overrides")
    o_idx = orng.choice(
        np.arange(n_special, n), size=min(max(3, n // 200), n - n_special), replace=False
    )

    # Financial statements, quarterly (some customers only at year end), for most customers.
    frng = _rng(seed, "financials")
    quarter_ends = np.array(
        [Period.parse(f"{y}-Q{q}").end for y in (2023, 2024, 2025) for q in (1, 2, 3, 4)],
        "datetime64[D]",
    )
    reports = frng.random(n) < 0.7
    annual_only = frng.random(n) < 0.2
    f_idx = np.repeat(np.flatnonzero(reports), len(quarter_ends))
    f_end = np.tile(quarter_ends, reports.sum())
    is_year_end = (f_end.astype("datetime64[M]").astype(int) % 12) == 11
    keep = ~annual_only[f_idx] | is_year_end
    f_idx, f_end = f_idx[keep], f_end[keep]
    m = len(f_idx)
    assets = np.round(net_assets[f_idx] * frng.uniform(1.5, 3.0, m) * frng.normal(1, 0.05, m))
    # Liabilities below assets for nearly everyone; a few are insolvent.
    leverage = np.where(frng.random(m) < 0.03, frng.uniform(1.0, 1.3, m), frng.beta(4, 4, m))
    liabilities = np.round(assets * leverage)
    current_assets = np.round(assets * frng.uniform(0.3, 0.7, m))
    current_liabilities = np.round(liabilities * frng.uniform(0.4, 0.9, m))
    inventory = np.round(current_assets * frng.uniform(0.1, 0.5, m))
    revenue = np.round(assets * frng.uniform(0.3, 2.0, m) / 4)
    profit = np.round(revenue * frng.normal(0.05, 0.06, m))
    cash_flow = np.round(profit * frng.normal(1.1, 0.6, m))

    # Complaints and events while the customer is active.
    crng = _rng(seed, "complaints")
    c_idx, c_day = _facts_per_entity(crng, np.where(buys, 0.3, 0) / 365.25, active_from, active_to)
    resolved = c_day + crng.integers(0, 15, len(c_idx))
    resolved_known = (crng.random(len(c_idx)) >= 0.1) & (resolved <= DATA_END)
    e_idx, e_day, e_type, e_count = _events(
        _rng(seed, "events"), CUSTOMER_EVENTS, active_from, active_to, np.where(buys, 1.0, 0.0)
    )

    orphan = _orphan_ids("C", n, 6)
    orng_days = _spread(orng, np.full(ORPHANS, _d("2025-01-01")), np.full(ORPHANS, DATA_END))
    orphan_cents = _lognormal_cents(orng, 20_000, 0.5, ORPHANS)

    def facts(idx: np.ndarray, day: np.ndarray, cents: np.ndarray | None) -> dict:
        cols: dict[str, object] = {
            "customer_id": pa.concat_arrays([ids.take(pa.array(idx)), orphan]),
            "date": _dates(np.concatenate([day, orng_days])),
        }
        if cents is not None:
            cols["amount"] = _money(np.concatenate([cents, orphan_cents]))
        return cols

    sales = facts(s_idx, s_day, s_cents)
    sales["batch_id"] = pa.concat_arrays([batch, _ids("B", np.arange(ORPHANS) + 99_000_000, 8)])
    created_col = pa.array(np.asarray(created, "datetime64[D]"), mask=~created_known)
    net_col = pa.array(net_assets / 100, mask=rng.random(n) < 0.1).cast(pa.decimal128(18, 2))
    return [
        _write(
            out,
            "customers",
            {
                "customer_id": ids,
                "name": name,
                "created_on": created_col,
                "category": _pick(rng, CUSTOMER_CATEGORIES, n),
                "region": np.asarray(REGIONS)[region],
                "owner": owner,
                "vip_designated": vip,
                "opening_balance": _money(opening),
                "net_assets": net_col,
            },
        ),
        _write(out, "sales", sales),
        _write(out, "payments", facts(p_idx, p_day, p_cents)),
        _write(out, "returns", facts(r_idx, r_day, r_cents)),
        _write(out, "visits", facts(v_idx, v_day, None)),
        _write(
            out,
            "ratings",
            {
                "entity_id": pa.concat_arrays([ids.take(pa.array(g_idx)), orphan]),
                "period": pa.concat_arrays(
                    [g.period, pa.array([s[1] for s in special] + ["2025"] * ORPHANS)]
                ),
                "indicator": pa.concat_arrays(
                    [g.indicator, pa.array(["manager_rating"] * (len(special) + ORPHANS))]
                ),
                "score": np.concatenate([g.score, [s[2] for s in special], np.full(ORPHANS, 75.0)]),
                "rater": pa.concat_arrays(
                    [g.rater, pa.array(list(owner[sp_idx]) + ["张伟"] * ORPHANS, pa.string())]
                ),
                "department": _label(
                    RATER_DEPARTMENTS,
                    grng.integers(0, len(RATER_DEPARTMENTS), len(g_idx) + ORPHANS),
                ),
            },
        ),
        _write(
            out,
            "overrides",
            {
                "entity_id": ids.take(pa.array(o_idx)),
                "period": np.full(len(o_idx), SAMPLE_PERIODS["customer-tiering"]),
                "grade": _pick(orng, ("A", "B", "C"), len(o_idx)),
                "reason": _pick(orng, OVERRIDE_REASONS, len(o_idx)),
                "set_by": owner[o_idx],
            },
        ),
        _write(
            out,
            "financials",
            {
                "customer_id": ids.take(pa.array(f_idx)),
                "period_end": _dates(f_end),
                "total_assets": _money(assets),
                "total_liabilities": _money(liabilities),
                "current_assets": _money(current_assets),
                "current_liabilities": _money(current_liabilities),
                "inventory": _money(inventory),
                "revenue": _money(revenue),
                "net_profit": _money(profit),
                "operating_cash_flow": _money(cash_flow),
            },
        ),
        _write(
            out,
            "complaints",
            {
                "entity_id": ids.take(pa.array(c_idx)),
                "opened_at": _dates(c_day),
                "resolved_at": pa.array(resolved.astype("datetime64[D]"), mask=~resolved_known),
                "severity": _label(("minor", "major"), crng.random(len(c_idx)) < 0.2),
            },
        ),
        _write(
            out,
            "events",
            {
                "entity_id": ids.take(pa.array(e_idx)),
                "date": _dates(e_day),
                "type": e_type,
                "count": e_count,
            },
        ),
        _calendar(out),
    ]


def _calendar(out: Path) -> Path:
    """Write the working-day calendar a company keeps beside its ERP data: each day of the
    sample years that a plain Monday-to-Friday week gets wrong — China's public holidays on
    weekdays (workday false) and the weekend days worked instead (调休, true) — as the State
    Council announced them (the chinese-calendar package). workdays_between() knows these
    days already; as a table they become part of the data a run read, and a company adds its
    own days (a works holiday, a Saturday shift) as further rows."""
    import chinese_calendar

    days = np.arange(DATA_START, DATA_END + 1)
    monday_to_friday = (days.astype(np.int64) + 3) % 7 < 5  # day 0, 1970-01-01, a Thursday
    # about a thousand days: one look-up each (the package has no vectorised form)
    official = np.array([chinese_calendar.is_workday(d) for d in days.astype(object)])
    differs = official != monday_to_friday
    return _write(out, "calendar", {"date": _dates(days[differs]), "workday": official[differs]})


# ---------------------------------------------------------------------------------------
# Suppliers: everything is drawn per (supplier, month) cell, then expanded to rows.
# ---------------------------------------------------------------------------------------


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return, for cells with `counts` rows each, each row's cell and its rank in the cell."""
    cell = np.repeat(np.arange(len(counts)), counts)
    first_row = np.cumsum(counts) - counts
    return cell, np.arange(len(cell)) - first_row[cell]


def _suppliers(out: Path, n: int, seed: int) -> list[Path]:
    """Write the supplier-rating tables."""
    rng = _rng(seed, "suppliers")
    ids = _ids("S", np.arange(1, n + 1), 4)
    cat = rng.integers(0, len(SUPPLIER_CATEGORIES), n)
    industries = np.array([SUPPLIER_INDUSTRIES[c] for c in SUPPLIER_CATEGORIES])
    city = np.asarray(CITIES).ravel()[rng.integers(0, np.asarray(CITIES).size, n)]
    name = _concat(
        city,
        _pick(rng, TRADE_NAMES, n),
        industries[cat, rng.integers(0, 3, n)],
        np.full(n, "有限公司"),
    )

    months = np.arange(DATA_START.astype("datetime64[M]"), DATA_END.astype("datetime64[M]") + 1)
    n_months = len(months)
    month_start = months.astype("datetime64[D]")
    month_days = ((months + 1).astype("datetime64[D]") - month_start).astype(np.int64)
    sup = np.repeat(np.arange(n), n_months)  # one cell per (supplier, month)
    month = np.tile(np.arange(n_months), n)
    cells = len(sup)

    def cell(i: int, month_index: int = n_months - 1) -> int:
        return i * n_months + month_index

    # S0001 … S0003 are hand-made for the sample month: a pass rate of exactly 97 %, one of
    # 98.5 % with a defect rate of exactly 1.5 %, and one with no inspections at all.
    n_special = min(n, 3)
    special_cell = np.zeros(cells, bool)
    special_cell[[cell(i) for i in range(n_special)]] = True
    # Several suppliers go bad in the last three months (grade C three months running), a few
    # others deliver late 4+ times in the last month alone (delivery dimension at 0 points).
    others = rng.permutation(np.arange(n_special, n))
    bad_sup = np.zeros(n, bool)
    bad_sup[others[: max(3, n // 20)]] = True
    late_sup = np.zeros(n, bool)
    late_sup[others[max(3, n // 20) : max(3, n // 20) + max(2, n // 50)]] = True
    bad = bad_sup[sup] & (month >= n_months - 3)
    late_month = late_sup[sup] & (month == n_months - 1)

    def day_in_month(c: np.ndarray, room: int | np.ndarray = 0) -> np.ndarray:
        """Return a random day of each row's month, at least `room` days before its end."""
        span = np.maximum(month_days[month[c]] - room, 1)
        return month_start[month[c]] + (rng.random(len(c)) * span).astype(np.int64)

    # Incoming inspections: 5–40 batches a month, sometimes none.
    p_fail = np.where(bad, 0.15, rng.beta(1, 80, n)[sup])
    p_conc = np.where(bad, 0.05, rng.beta(1, 200, n)[sup])
    counts = np.where(rng.random(cells) < 0.08, 0, rng.integers(5, 41, cells))
    fixed_fails = np.full(cells, -1)
    for i, (count, fails) in enumerate(((100, 3), (200, 3), (0, 0))[:n_special]):
        counts[cell(i)], fixed_fails[cell(i)] = count, fails
    c, rank = _expand(counts)
    u = rng.random(len(c))
    result = np.where(u < p_fail[c], 1, np.where(u < p_fail[c] + p_conc[c], 2, 0))
    result = np.where(fixed_fails[c] >= 0, (rank < fixed_fails[c]).astype(int), result)
    orphan = _orphan_ids("S", n, 4)
    inspections = {
        "supplier_id": pa.concat_arrays([ids.take(pa.array(sup[c])), orphan]),
        "date": _dates(np.concatenate([day_in_month(c), np.full(ORPHANS, DATA_END)])),
        "result": _label(("pass", "fail", "concession"), np.r_[result, np.zeros(ORPHANS, int)]),
        "batch_id": _ids("IQC", np.arange(1, len(c) + ORPHANS + 1), 8),
    }

    # Defects found in production: exactly at the 1 % limit for S0001, 1.5 % for S0002.
    counts = rng.poisson(1.5, cells)
    counts[special_cell] = 1
    c, _ = _expand(counts)
    rate = np.where(bad, 4, 1)[c] * rng.lognormal(np.log(0.004), 0.9, cells)[c]
    used = rng.integers(500, 50_001, len(c))
    defective = rng.binomial(used, np.minimum(rate, 0.5))
    for i, (u_qty, d_qty) in enumerate(((10_000, 100), (20_000, 300), (5_000, 0))[:n_special]):
        row = np.flatnonzero(c == cell(i))
        used[row], defective[row] = u_qty, d_qty
    defects = {
        "supplier_id": ids.take(pa.array(sup[c])),
        "date": _dates(day_in_month(c)),
        "used_qty": used,
        "defective_qty": defective,
    }

    # Customer complaints about the supplier's material.
    counts = rng.poisson(np.where(bad, 1.5, 0.08))
    counts[special_cell] = 0
    c, _ = _expand(counts)
    opened = day_in_month(c)
    resolved = opened + rng.integers(1, 20, len(c))
    complaints = {
        "entity_id": ids.take(pa.array(sup[c])),
        "opened_at": _dates(opened),
        "resolved_at": pa.array(
            resolved.astype("datetime64[D]"),
            mask=(rng.random(len(c)) < 0.1) | (resolved > DATA_END),
        ),
        "severity": _label(("minor", "major"), rng.random(len(c)) < np.where(bad[c], 0.5, 0.25)),
    }

    # Deliveries: late when delivered after the due date; late ones are due early enough in
    # the month to be delivered before the data ends.
    counts = rng.integers(2, 11, cells)
    counts[late_month] = np.maximum(counts[late_month], 6)
    c, rank = _expand(counts)
    late = (rng.random(len(c)) < np.where(bad, 0.35, 0.04)[c]) | (late_month[c] & (rank < 4))
    late &= ~special_cell[c]
    due = day_in_month(c, np.where(late, 10, 0))
    delivered = due + np.where(late, rng.integers(1, 10, len(c)), -rng.integers(0, 3, len(c)))
    deliveries = {
        "supplier_id": ids.take(pa.array(sup[c])),
        "due_date": _dates(due),
        "delivered_date": _dates(delivered),
    }

    # Quotes: a quarter of the months quote exactly a band edge (1 %, 3 %, 6 %).
    counts = rng.poisson(1.2, cells)
    edges = np.array([0.01, 0.03, 0.06])
    cell_premium = np.where(rng.random(cells) < 0.25, edges[rng.integers(0, 3, cells)], np.nan)
    cell_premium[bad] = np.where(rng.random(bad.sum()) < 0.5, 0.06, np.nan)
    for i, (count, premium) in enumerate(((3, 0.03), (2, 0.01), (1, 0.0))[:n_special]):
        counts[cell(i)], cell_premium[cell(i)] = count, premium
    c, _ = _expand(counts)
    free = np.round(
        np.where(bad[c], rng.uniform(0.04, 0.08, len(c)), rng.uniform(0, 0.08, len(c))), 4
    )
    free[rng.random(len(c)) < 0.1] = 0.0
    quotes = {
        "supplier_id": ids.take(pa.array(sup[c])),
        "date": _dates(day_in_month(c)),
        "premium": np.where(np.isnan(cell_premium[c]), free, cell_premium[c]),
    }

    # Service and price incidents, frequent for the bad suppliers.
    parts = []
    for k, et in enumerate(SUPPLIER_EVENTS):  # five event types, not rows
        counts = rng.poisson(et.monthly_rate * np.where(bad, 25, 1))
        counts[special_cell] = 0
        c, _ = _expand(counts)
        parts.append((c, np.full(len(c), k)))
    c = np.concatenate([p[0] for p in parts])
    events = {
        "entity_id": ids.take(pa.array(sup[c])),
        "date": _dates(day_in_month(c)),
        "type": _label([et.type for et in SUPPLIER_EVENTS], np.concatenate([p[1] for p in parts])),
        "count": np.ones(len(c), np.int64),
    }

    return [
        _write(
            out,
            "suppliers",
            {"supplier_id": ids, "name": name, "category": np.asarray(SUPPLIER_CATEGORIES)[cat]},
        ),
        _write(out, "inspections", inspections),
        _write(out, "production_defects", defects),
        _write(out, "complaints", complaints),
        _write(out, "deliveries", deliveries),
        _write(out, "quotes", quotes),
        _write(out, "events", events),
    ]


# ---------------------------------------------------------------------------------------
# Dealers.
# ---------------------------------------------------------------------------------------

# D001: the seed's front desk (164 / 330); D002: every department at exactly 70 %.
SPECIAL_DEALERS: tuple[dict[str, int], ...] = (
    dict(core_process=100, safety_5s=43, staff_training=9, documents=7, boards=0, dms=5),
    dict(
        core_process=137, safety_5s=43, staff_training=20, documents=8, boards=17, dms=6,
        workshop=203, parts=105, claims=35, customer_service=98, station_manager=28,
    ),
)  # fmt: skip
DEALER_PERIODS = ("2024", "2025")


def _dealers(out: Path, n: int, seed: int) -> list[Path]:
    """Write the dealer-aftersales-audit tables."""
    rng = _rng(seed, "dealers")
    ids = _ids("D", np.arange(1, n + 1), 3)
    city = np.asarray(CITIES).ravel()[rng.integers(0, np.asarray(CITIES).size, n)]
    name = _concat(city, _pick(rng, DEALER_BRANDS, n), np.full(n, "汽车销售服务有限公司"))

    level = rng.beta(6, 3, n)
    maxima = np.array([m[1] for m in DEALER_MODULES], float)
    shape = (len(DEALER_PERIODS), n, len(DEALER_MODULES))
    share = np.clip(level[None, :, None] + rng.normal(0, 0.1, shape), 0, 1)
    points = np.round(share * maxima)
    rated = rng.random(shape) >= 0.03  # a few modules were not audited
    names = [m[0] for m in DEALER_MODULES]
    for i, spec in enumerate(SPECIAL_DEALERS[:n]):
        for module, value in spec.items():
            k = names.index(module)
            points[-1, i, k], rated[-1, i, k] = value, True
    p, e, k = np.nonzero(rated)
    ratings = {
        "entity_id": pa.concat_arrays([ids.take(pa.array(e)), _orphan_ids("D", n, 3)]),
        "period": np.concatenate([np.asarray(DEALER_PERIODS)[p], np.full(ORPHANS, "2025")]),
        "indicator": np.concatenate([np.asarray(names)[k], np.full(ORPHANS, "parts")]),
        "score": np.concatenate([points[p, e, k], np.full(ORPHANS, 120.0)]),
        "rater": np.full(len(p) + ORPHANS, "auditor"),
        "department": np.concatenate(
            [np.asarray([m[2] for m in DEALER_MODULES])[k], np.full(ORPHANS, "parts")]
        ),
    }
    return [
        _write(out, "dealers", {"dealer_id": ids, "name": name}),
        _write(out, "ratings", ratings),
    ]


# ---------------------------------------------------------------------------------------
# Staff.
# ---------------------------------------------------------------------------------------


def _staff(out: Path, n: int, seed: int, scheme: str) -> list[Path]:
    """Write the staff family's tables for one scheme."""
    rng = _rng(seed, "staff")
    ids = _ids("E", np.arange(1, n + 1), 3)
    dept_code = rng.integers(0, len(STAFF_DEPARTMENTS), n)
    department = np.asarray(STAFF_DEPARTMENTS)[dept_code]
    level = rng.beta(5, 2, n)
    raters = list(_person_names(_rng(seed, "raters"), 40))
    g = _ratings(_rng(seed, f"{scheme}/ratings"), n, level, STAFF_RATINGS[scheme], raters)

    # A few staff have no incidents at all; the weaker ones have more.
    boost = np.where(rng.random(n) < 0.05, 0.0, 1.5 - level)
    start, end = np.full(n, DATA_START), np.full(n, DATA_END)
    e_idx, e_day, e_type, e_count = _events(
        _rng(seed, f"{scheme}/events"), STAFF_EVENTS[scheme], start, end, boost
    )
    orphan = _orphan_ids("E", n, 3)
    return [
        _write(
            out, "staff", {"staff_id": ids, "name": _person_names(rng, n), "department": department}
        ),
        _write(
            out,
            "events",
            {
                "entity_id": pa.concat_arrays([ids.take(pa.array(e_idx)), orphan]),
                "date": _dates(np.concatenate([e_day, np.full(ORPHANS, DATA_END)])),
                "type": pa.concat_arrays(
                    [e_type, pa.array([STAFF_EVENTS[scheme][0].type] * ORPHANS)]
                ),
                "count": np.concatenate([e_count, np.ones(ORPHANS, np.int64)]),
            },
        ),
        _write(
            out,
            "ratings",
            {
                "entity_id": ids.take(pa.array(g.idx, pa.int64())),
                "period": g.period,
                "indicator": g.indicator,
                "score": g.score,
                "rater": g.rater,
                "department": _label(STAFF_DEPARTMENTS, dept_code[g.idx]),
            },
        ),
    ]


_GENERATORS: dict[str, Callable[[Path, int, int], list[Path]]] = {
    **dict.fromkeys(CUSTOMER_SCHEMES, _customers),
    "supplier-rating": _suppliers,
    "dealer-aftersales-audit": _dealers,
    **{s: (lambda out, n, seed, s=s: _staff(out, n, seed, s)) for s in STAFF_SCHEMES},
}


def generate(scheme: str, out: Path, *, entities: int = 200, seed: int = 7) -> list[Path]:
    """Write a built-in scheme's sample data set as CSV files into `out` and return their paths."""
    if scheme not in _GENERATORS:
        known = ", ".join(sorted(_GENERATORS))
        raise BadInput(f"no sample data for scheme '{scheme}': the built-in schemes are {known}")
    if entities < 1:
        raise BadInput(f"entities must be at least 1, not {entities}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return _GENERATORS[scheme](out, entities, seed)
