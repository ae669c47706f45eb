"""A Python Lambda function that starts like ours, for scripts/bench's cold-start comparison.

At import (Lambda's init phase) it imports boto3 and builds the SDK clients the Rust function
builds at cold start (src/handler.rs, `Onboarder::with_limits`), from the same environment:

- Organizations, SES v2 and Account, in the function's region;
- STS, when MEMBER_ROLE_NAME is set (the member role's client);
- per region of REGIONS: GuardDuty, and Security Hub when ENABLE_SECURITY_HUB=true.

Then it polls the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API) as a runtime does: GET the next
invocation, answer it, repeat. Its handler does no onboarding: only the start is compared.

    python scripts/bench_boto3_function.py      (with the Lambda environment set)
"""

import http.client
import json
import os

RUNTIME = "/2018-06-01/runtime"


def _post(path, body):
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port))
    data = json.dumps(body).encode()
    conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
    conn.getresponse().read()
    conn.close()


try:
    import boto3

    _session = boto3.session.Session()
    _region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    CLIENTS = {
        "organizations": _session.client("organizations", region_name=_region),
        "sesv2": _session.client("sesv2", region_name=_region),
        "account": _session.client("account", region_name=_region),
    }
    if os.environ.get("MEMBER_ROLE_NAME", "").strip():
        CLIENTS["sts"] = _session.client("sts", region_name=_region)
    _security_hub = os.environ.get("ENABLE_SECURITY_HUB", "").strip().lower() == "true"
    _regions = [r.strip() for r in os.environ.get("REGIONS", _region or "").split(",") if r.strip()]
    for _r in _regions:
        CLIENTS[f"guardduty:{_r}"] = _session.client("guardduty", region_name=_r)
        if _security_hub:
            CLIENTS[f"securityhub:{_r}"] = _session.client("securityhub", region_name=_r)
except Exception as e:  # what a runtime does with a failed init
    _post(f"{RUNTIME}/init/error", {"errorType": type(e).__name__, "errorMessage": str(e)})
    raise


def handler(event, context):
    """Names the clients built at init; the comparison is about the start only."""
    return {"clients": sorted(CLIENTS)}


def main():
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port))
    while True:
        conn.request("GET", f"{RUNTIME}/invocation/next")
        answer = conn.getresponse()
        body = answer.read()
        if answer.status != 200:
            raise SystemExit(f"GET next answered {answer.status}")
        request_id = answer.getheader("Lambda-Runtime-Aws-Request-Id")
        try:
            result, kind = handler(json.loads(body), None), "response"
        except Exception as e:
            result, kind = {"errorType": type(e).__name__, "errorMessage": str(e)}, "error"
        data = json.dumps(result).encode()
        conn.request(
            "POST",
            f"{RUNTIME}/invocation/{request_id}/{kind}",
            body=data,
            headers={"Content-Type": "application/json"},
        )
        conn.getresponse().read()


if __name__ == "__main__":
    main()
