"""A multi-stage data pipeline built from generators.

    tracesnap record examples/sample_pipeline.py

Raw log lines flow through parse -> filter -> enrich -> aggregate. Each stage is a generator,
so the trace shows the stages interleaving: one record travels through every stage before the
next one is read.
"""

RAW_LOG = """\
2026-11-20T10:00:01 GET /api/items 200 12
2026-11-20T10:00:02 POST /api/items 201 40
2026-11-20T10:00:02 GET /health 200 1
2026-11-20T10:00:03 GET /api/items/7 404 3
2026-11-20T10:00:05 DELETE /api/items/3 500 95
malformed line
2026-11-20T10:00:08 GET /api/items 200 15
"""


def read_lines(text):
    for number, line in enumerate(text.splitlines(), start=1):
        yield number, line


def parse(lines):
    for number, line in lines:
        fields = line.split()
        if len(fields) != 5:
            continue
        stamp, method, path, status, millis = fields
        yield {"line": number, "method": method, "path": path,
               "status": int(status), "ms": int(millis), "at": stamp}


def only_api(records):
    for record in records:
        if record["path"].startswith("/api/"):
            yield record


def enrich(records):
    for record in records:
        status = record["status"]
        if status >= 500:
            severity = "error"
        elif status >= 400:
            severity = "warning"
        else:
            severity = "ok"
        yield dict(record, severity=severity, slow=record["ms"] > 30)


def aggregate(records):
    summary = {"count": 0, "total_ms": 0, "by_severity": {}, "slow_paths": []}
    for record in records:
        summary["count"] += 1
        summary["total_ms"] += record["ms"]
        severity = record["severity"]
        summary["by_severity"][severity] = summary["by_severity"].get(severity, 0) + 1
        if record["slow"]:
            summary["slow_paths"].append(record["path"])
    if summary["count"]:
        summary["mean_ms"] = summary["total_ms"] / summary["count"]
    return summary


def run_pipeline(text):
    stages = enrich(only_api(parse(read_lines(text))))
    return aggregate(stages)


if __name__ == "__main__":
    report = run_pipeline(RAW_LOG)
    for key in sorted(report):
        print(f"{key}: {report[key]}")
