"""Inputs for the stream benchmark (30-stream.sh).

  stream_fixture.py fixture GROUPS N  -> a seed fixture: GROUPS conversations between 2*GROUPS
                                         users, one opening message each
  stream_fixture.py puts GROUPS N     -> N lines "group handle message" for put-message,
                                         round-robin over the conversations, senders alternating
"""

import json
import sys
import uuid


def user(i):
    return {"uuid": str(uuid.UUID(int=i + 1)), "handle": f"user{i}", "display_name": f"User {i}"}


def group(g):
    return str(uuid.UUID(int=10**6 + g))


def fixture(groups):
    return {
        "users": [user(i) for i in range(2 * groups)],
        "conversations": [
            {
                "message_group_uuid": group(g),
                "participants": [f"user{2 * g}", f"user{2 * g + 1}"],
                "messages": [{"handle": f"user{2 * g}", "message": f"opening message {g}"}],
            }
            for g in range(groups)
        ],
    }


def puts(groups, n):
    for i in range(n):
        g = i % groups
        sender = 2 * g + (i // groups) % 2
        yield f"{group(g)} user{sender} new-message-{i}"


def main():
    kind, groups, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if kind == "fixture":
        json.dump(fixture(groups), sys.stdout)
    elif kind == "puts":
        print("\n".join(puts(groups, n)))
    else:
        sys.exit(f"unknown kind {kind!r}: fixture or puts")


if __name__ == "__main__":
    main()
