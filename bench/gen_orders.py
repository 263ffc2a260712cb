#!/usr/bin/env python3
"""Synthetic order history for `loyaltyd import orders` (bench/run_import_bench.sh).

    bench/gen_orders.py ORDERS MEMBERS > orders.ndjson

ORDERS paid orders of 3 line items each, spread evenly over MEMBERS customers
("c1".."cMEMBERS") and over 2023-01-01 .. 2024-06-30 in time order (so each
customer's orders come in time order, as `import orders` requires), one
NDJSON object per line in the POST /v1/orders shape. Deterministic (seeded).
"""
import random
import sys

SKUS = [("TEE", "T-shirt", "apparel", 1999), ("MUG", "Mug", "home", 1250),
        ("CAP", "Cap", "apparel", 1500), ("BAG", "Tote bag", "bags", 2400),
        ("SOX", "Socks", "apparel", 800), ("PEN", "Pen", "office", 350)]
START = 1672531200  # 2023-01-01T00:00:00Z
SPAN = 547 * 86400  # to 2024-06-30


def main():
    orders, members = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(42)
    out = sys.stdout
    buf = []
    step = SPAN / max(orders, 1)
    for n in range(orders):
        t = START + int(n * step)
        # ISO 8601 by arithmetic: faster than datetime for 10M lines.
        days, secs = divmod(t - START, 86400)
        y, m, d = civil(days)
        items = []
        for _ in range(3):
            sku, name, cat, price = SKUS[rng.randrange(len(SKUS))]
            items.append('{"sku":"%s","name":"%s","category":"%s","quantity":%d,'
                         '"unit_price_minor":%d}' % (sku, name, cat, rng.randrange(1, 4), price))
        buf.append('{"external_id":"o%d","member_external_id":"c%d","currency":"USD",'
                   '"status":"paid","placed_at":"%04d-%02d-%02dT%02d:%02d:%02dZ","items":[%s]}\n'
                   % (n + 1, rng.randrange(members) + 1, y, m, d, secs // 3600,
                      secs // 60 % 60, secs % 60, ",".join(items)))
        if len(buf) >= 10000:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))


DAYS_BEFORE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]


def civil(days):
    """(year, month, day) of 2023-01-01 + days (2023..2024)."""
    for year, length, leap in ((2023, 365, 0), (2024, 366, 1)):
        if days < length:
            for month in range(11, -1, -1):
                start = DAYS_BEFORE[month] + (leap if month >= 2 else 0)
                if days >= start:
                    return year, month + 1, days - start + 1
        days -= length
    raise ValueError("beyond 2024")


if __name__ == "__main__":
    main()
