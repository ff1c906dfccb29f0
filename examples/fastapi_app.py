"""A small FastAPI service with a recorded async endpoint and a recorded sync one.

    pip install fastapi uvicorn
    TRACESNAP_ENABLED=1 python examples/fastapi_app.py      # serves http://127.0.0.1:5051
    curl 'http://127.0.0.1:5051/quote?weight=12&zone=2'
    curl 'http://127.0.0.1:5051/zones/9'                    # 404, recorded as 404
    tracesnap view

Without TRACESNAP_ENABLED=1 the decorator does nothing.
"""

import asyncio
import os
import sys

from fastapi import FastAPI, HTTPException, Request

from tracesnap.integrations.fastapi import configure, traced

app = FastAPI()
configure(output_dir="traces", source_files=[__file__])

ZONES = {1: 400, 2: 650, 3: 900}


def shipping_cost(weight, zone_rate):
    cost = zone_rate
    extra_kilos = max(0, weight - 5)
    for _ in range(extra_kilos):
        cost += 35
    return cost


@app.get("/quote")
@traced
async def quote(request: Request, weight: int = 1, zone: int = 1):
    await asyncio.sleep(0.01)  # e.g. a rate lookup
    if zone not in ZONES:
        raise HTTPException(status_code=404, detail=f"no zone {zone}")
    cents = shipping_cost(weight, ZONES[zone])
    return {"weight": weight, "zone": zone, "cents": cents}


@app.get("/zones/{zone}")
@traced(name="zone-info")
def zone_info(request: Request, zone: int):
    if zone not in ZONES:
        raise HTTPException(status_code=404, detail=f"no zone {zone}")
    return {"zone": zone, "base_cents": ZONES[zone]}


if __name__ == "__main__":
    import uvicorn

    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", "5051"))
    print(f"serving on http://127.0.0.1:{port}  (recording: {os.environ.get('TRACESNAP_ENABLED') == '1'})")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
