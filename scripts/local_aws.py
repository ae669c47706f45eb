"""Prepares moto for a local run and shows what the run left behind.

  prepare  creates the organisation, one account for each account id the event names, and the
           SES identity of the report's sender; writes the event with moto's account ids
  show     prints the email(s) SES recorded and the stand-in's invitations

moto chooses the ids of the accounts it creates, so the event's account ids are swapped for
moto's in a copy of the event; the mapping is printed.
"""

import argparse
import html
import json
import re
import sys
import time
import urllib.request

import boto3

# The management account of the samples in events/: not an account to onboard.
SAMPLE_MANAGEMENT_ACCOUNT = "111111111111"


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def wait(endpoint, seconds=60):
    deadline = time.time() + seconds
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=2)
            return
        except OSError:
            if time.time() > deadline:
                sys.exit(f"moto did not answer on {endpoint} within {seconds} s")
            time.sleep(0.2)


# The stand-in's member that belongs to no account of the organisation (scripts/run-local).
DEPARTED_MEMBER = "210000000099"


def account_ids(value, found):
    if isinstance(value, str) and re.fullmatch(r"\d{12}", value) and value != SAMPLE_MANAGEMENT_ACCOUNT:
        found.setdefault(value, None)
    elif isinstance(value, list):
        for item in value:
            account_ids(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            account_ids(item, found)
    return found


def replace(value, mapping):
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, list):
        return [replace(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: replace(v, mapping) for k, v in value.items()}
    return value


def bodies(event, convert):
    """A batch from the queue with each record's body converted (json.loads to read the event in
    it, json.dumps to put it back); any other event as it is."""
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        return {**event, "Records": [{**r, "body": convert(r["body"])} for r in event["Records"]]}
    return event


def prepare(args):
    wait(args.endpoint)
    client("sesv2", args.endpoint).create_email_identity(EmailIdentity=args.sender)
    org = client("organizations", args.endpoint)
    org.create_organization(FeatureSet="ALL")
    with open(args.event) as f:
        event = bodies(json.load(f), json.loads)
    mapping = {}
    # A manual invoke that gives every account's email needs no lookup: its ids are kept, so the
    # run (and its report) is the same every time.
    entries = event.get("accounts") if isinstance(event, dict) else None
    keep = isinstance(entries, list) and all(isinstance(e, dict) and e.get("email") for e in entries)
    departed = isinstance(event, dict) and event.get("detail", {}).get("eventName") == "AccountDepartedOrganization"
    for n, sample_id in enumerate([] if keep else account_ids(event, {})):
        if departed:
            # An account that left is in no organisation: the stand-in's member outside it
            # (scripts/run-local) is the one whose memberships the run checks.
            mapping[sample_id] = DEPARTED_MEMBER
            continue
        created = org.create_account(Email=f"workload-{n}@example.com", AccountName=f"workload-{n}")
        mapping[sample_id] = created["CreateAccountStatus"]["AccountId"]
    if event.get("sweep") or event.get("detail-type") == "Scheduled Event":
        # A sweep works on the whole organisation: give it a few accounts to find.
        for n in range(3):
            created = org.create_account(Email=f"sweep-{n}@example.com", AccountName=f"sweep-{n}")
            print(f"  organisation account {created['CreateAccountStatus']['AccountId']} for the sweep to find")
    for sample_id, moto_id in mapping.items():
        if moto_id == DEPARTED_MEMBER:
            print(f"  account {sample_id} of the event is the stand-in's member outside the organisation, {moto_id}")
        else:
            print(f"  account {sample_id} of the event is moto's new account {moto_id}")
    with open(args.out, "w") as f:
        json.dump(bodies(replace(event, mapping), json.dumps), f, indent=2)


def text_of(body):
    """A readable rendering of the report's HTML: one line per table row."""
    body = re.sub(r"(?s)<head>.*?</head>", "", body)
    body = re.sub(r"</t[dh]>\s*<t[dh][^>]*>", " | ", body)
    body = re.sub(r"<(br|/tr|/h\d|/p|/table)[^>]*>", "\n", body)
    text = html.unescape(re.sub(r"<[^>]+>", "", body))
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()


WRITES = {"CreateMembers", "InviteMembers", "CreateDetector", "AcceptAdministratorInvitation", "EnableSecurityHub"}


def show(args):
    data = json.load(urllib.request.urlopen(args.endpoint + "/moto-api/data.json"))
    messages = data.get("ses", {}).get("Message", [])
    if not messages:
        print("(no email was sent)")
    if messages and args.html_out:
        with open(args.html_out, "w") as f:
            f.write(messages[-1]["body"])
    for m in messages:
        print(f"From:    {m['source']}")
        print(f"To:      {', '.join(m['destinations'].get('ToAddresses', []))}")
        print(f"Subject: {m['subject']}")
        print()
        print(text_of(m["body"]))
    if args.standin:
        state = json.load(urllib.request.urlopen(args.standin + "/_standin/state"))
        print("\nGuardDuty stand-in: invitations sent")
        for i in state["invitations"] or []:
            print(f"  {i['region']} {i['account_id']} disableEmailNotification={str(i['disable_email_notification']).lower()}")
        if not state["invitations"]:
            print("  (none)")
        print("\nSecurity Hub stand-in: invitations sent")
        for i in state["securityHub"]["invitations"] or []:
            print(f"  {i['region']} {i['account_id']}")
        if not state["securityHub"]["invitations"]:
            print("  (none)")
        writes = [c for c in state["calls"] if c["operation"] in WRITES and c["status"] == 200]
        print(f"\nWrite calls answered by the stand-in: {len(writes)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--endpoint", required=True)
    p.add_argument("--sender", required=True)
    p.add_argument("--event", required=True)
    p.add_argument("--out", required=True)
    s = sub.add_parser("show")
    s.add_argument("--endpoint", required=True)
    s.add_argument("--standin")
    s.add_argument("--html-out", help="write the last report's HTML here")
    args = parser.parse_args()
    {"prepare": prepare, "show": show}[args.command](args)


if __name__ == "__main__":
    main()
