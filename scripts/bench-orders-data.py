#!/usr/bin/env python3
"""Data for scripts/bench-orders.sh (standard library only).

  bench-orders-data.py csv DIR AGENTS ORDERS
      agents.csv (a random sponsor tree, levels 1-5, 1 in 50 frozen) and
      orders.csv (paid and refunded orders of 2026-01-01 .. 2026-11-30,
      Beijing, in time order as a brand's history export comes, 3 in 100
      refunded, random buyers at their own level) in DIR. Seeded: the same
      arguments give the same files.

  bench-orders-data.py catalogue URL TOKEN SKUS
      through the JSON API with a bearer token: a default warehouse, SKUS
      products of one SKU each (on sale, retail 10.00 .. 999.00 yuan) and
      10,000,000 units of each booked in (采购入库), far more than a run
      can reserve. Prints "first_sku_id last_sku_id".
"""

import http.client
import json
import random
import sys
import urllib.parse


def write_csv(folder, agents, orders):
    rnd = random.Random(20261130)
    levels = [1]
    depth = [0]
    with open(f"{folder}/agents.csv", "w", encoding="utf-8", newline="\n") as out:
        out.write("id,name,phone,wechat,level,sponsor_id,status,joined_at\n")
        out.write("A0,创始人,13900000000,wx0,1,,active,2025-01-01T00:00:00+08:00\n")
        for i in range(1, agents):
            parent = rnd.randrange(i)
            d = depth[parent] + 1
            # Levels grow with depth: generation 1 at 2-3, then 3-4, then 4-5.
            level = 1 + min(d, 3) + rnd.randrange(2)
            depth.append(d)
            levels.append(level)
            status = "frozen" if rnd.randrange(50) == 0 else "active"
            out.write(
                f"A{i},代理{i},1{3_000_000_000 + i:010},wx{i},{level},A{parent},{status},"
                f"2025-{1 + rnd.randrange(12):02}-{1 + rnd.randrange(28):02}T10:00:00+08:00\n"
            )
    # 2026-01-01 .. 2026-11-30 (Beijing): 334 days.
    days = []
    for month, n in enumerate([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30], start=1):
        days.extend(f"2026-{month:02}-{d:02}" for d in range(1, n + 1))
    seconds = len(days) * 86_400
    clock = [f"{h:02}:{m:02}:{s:02}" for h in range(24) for m in range(60) for s in range(60)]
    with open(f"{folder}/orders.csv", "w", encoding="utf-8", newline="\n") as out:
        out.write("id,agent_id,buyer_level,retail_fen,paid_at,status\n")
        batch = []
        step = seconds / orders
        below = rnd.randrange
        for i in range(orders):
            buyer = below(agents)
            s = int(i * step)
            status = "refunded" if below(100) < 3 else "paid"
            batch.append(
                f"O{i},A{buyer},{levels[buyer]},{1_000 + below(999_001)},"
                f"{days[s // 86_400]}T{clock[s % 86_400]}+08:00,{status}"
            )
            if len(batch) == 100_000:
                out.write("\n".join(batch))
                out.write("\n")
                batch.clear()
        if batch:
            out.write("\n".join(batch))
            out.write("\n")


def catalogue(url, token, skus):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(method, path, body):
        conn.request(method, path, json.dumps(body), headers)
        res = conn.getresponse()
        data = res.read()
        if res.status >= 300:
            sys.exit(f"{method} {path}: {res.status} {data[:300]!r}")
        return json.loads(data) if data else None

    warehouse = call("POST", "/api/v1/stock/warehouses",
                     {"code": "BENCH", "name": "压测仓", "address": "上海市浦东新区", "is_default": True})["id"]
    rnd = random.Random(1000)
    ids = []
    for i in range(skus):
        product = call("POST", "/api/v1/products", {"code": f"P{i:04}", "name": f"压测商品{i}"})
        sku = call("POST", f"/api/v1/products/{product['id']}/skus",
                   {"code": f"S{i:04}", "spec": "500ml", "retail_fen": 1_000 + rnd.randrange(98_901)})
        ids.append(sku["id"])
        call("POST", "/api/v1/stock/movements",
             {"kind": "purchase_in", "warehouse_id": warehouse, "sku_code": f"S{i:04}", "qty": 10_000_000})
    print(min(ids), max(ids))


if __name__ == "__main__":
    if sys.argv[1] == "csv":
        write_csv(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "catalogue":
        catalogue(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(__doc__)
