"""Eastmoney answers for the parser tests: recorded ones (tests/payloads, copied from
shared/payloads) and builders of small ones in the documented format (shared/providers.md
sections 1 and 2), decoded as the HTTP client decodes them."""

import json
from decimal import Decimal
from pathlib import Path

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads"
RECORDED_LIST = PAYLOADS / "eastmoney_clist_stock_gainers_pn1_pz5_2026-09-14.json"
RECORDED_KLINES = PAYLOADS / "eastmoney_kline_stock_601872_fqt1_2024-12-18_2024-12-31.json"
RECORDED_KLINE_ERROR = PAYLOADS / "eastmoney_kline_error_rc100_data_null.json"
DAY = r"\d{4}-\d{2}-\d{2}"


def load(text: str | Path):
    """Decode as the HTTP client does: fractions as exact Decimals."""
    if isinstance(text, Path):
        text = text.read_text(encoding="utf-8")
    return json.loads(text, parse_float=Decimal)


def list_answer(rows, total=None) -> dict:
    return {
        "rc": 0,
        "rt": 6,
        "svr": 181670098,
        "lt": 1,
        "full": 1,
        "dlmkts": "",
        "dsc": "0",
        "data": {"total": len(rows) if total is None else total, "diff": rows},
    }


def list_row(**overrides) -> dict:
    row = {
        "f12": "510300",
        "f13": 1,
        "f14": "沪深300ETF",
        "f2": 3.991,
        "f5": 1234567,
        "f6": 4923456789.12,
        "f15": 4.012,
        "f16": 3.950,
        "f17": 3.960,
        "f18": 3.970,
        "f124": 1726297200,
        "f297": 20240913,
    }
    row.update(overrides)
    return row


def wire(payload: dict):
    """The payload as the client sees it after a round trip through JSON."""
    return load(json.dumps(payload, ensure_ascii=False))


def kline_answer(lines, code="510300", market=1) -> dict:
    return {
        "rc": 0,
        "rt": 17,
        "svr": 183641822,
        "lt": 1,
        "full": 0,
        "dlmkts": "",
        "dsc": "0",
        "data": {
            "code": code,
            "market": market,
            "name": "沪深300ETF",
            "decimal": 3,
            "dktotal": len(lines),
            "klines": lines,
        },
    }


def kline(day="2024-01-02", open_="3.500", close="3.480", high="3.510", low="3.470", lots="1234"):
    amount = "430000.00"
    return f"{day},{open_},{close},{high},{low},{lots},{amount},1.14,-0.57,-0.020,0.58"
