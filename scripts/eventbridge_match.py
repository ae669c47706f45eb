#!/usr/bin/env python3
"""Asks moto's EventBridge pattern matcher, a maintained implementation of EventBridge's
matching rules, which events each pattern matches.

Reads {"patterns": {name: pattern}, "events": {name: event}} as JSON on stdin and writes
{pattern name: {event name: true|false}} as JSON on stdout. tests/template.rs runs it with
.venv/bin/python and compares the answers with its own matcher and the expected matrix.
"""

import json
import sys

from moto.events.models import EventPattern


def main() -> None:
    request = json.load(sys.stdin)
    verdicts = {
        name: {
            event_name: bool(EventPattern.load(json.dumps(pattern)).matches_event(event))
            for event_name, event in request["events"].items()
        }
        for name, pattern in request["patterns"].items()
    }
    json.dump(verdicts, sys.stdout)


if __name__ == "__main__":
    main()
