"""Inputs for the stream benchmark (30-stream.sh).

  stream_fixture.py fixture GROUPS N  -> a seed fixture: GROUPS conversations between 2*GROUPS
                                         users, one opening message each
  stream_fixture.py puts GROUPS N     -> N lines "group handle message" for put-message,
                                         round-robin over the conversations, senders alternating
  stream_fixture.py event GROUPS N     -> a Lambda event of N INSERT records of new messages,
                                         round-robin over the conversations (as `puts` writes
                                         them), for the table cruddur-messages
  stream_fixture.py write ENDPOINT EVENT -> write the event's messages to the table (boto3
                                         batch writer): the app wrote them before the stream
                                         delivered them
  stream_fixture.py check ENDPOINT GROUPS N -> how many GRP# rows carry their conversation's
                                         newest message of the event (expect 2 * GROUPS)
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


def message_sk(i):
    # Newer than anything the fixture seeds (--now 2026-01-01), one millisecond apart.
    return f"2026-06-01T00:{i // 60000:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}000+00:00"


def event(groups, n):
    records = []
    for i in range(n):
        g = i % groups
        sender = 2 * g + (i // groups) % 2
        image = {
            "pk": {"S": f"MSG#{group(g)}"},
            "sk": {"S": message_sk(i)},
            "message_uuid": {"S": str(uuid.UUID(int=2 * 10**6 + i))},
            "message": {"S": f"new-message-{i}"},
            "user_uuid": {"S": user(sender)["uuid"]},
            "user_display_name": {"S": user(sender)["display_name"]},
            "user_handle": {"S": user(sender)["handle"]},
        }
        records.append({
            "eventID": str(i), "eventName": "INSERT", "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/cruddur-messages/stream/bench",
            "dynamodb": {"Keys": {"pk": image["pk"], "sk": image["sk"]}, "NewImage": image,
                         "SequenceNumber": f"{i + 1:021d}", "StreamViewType": "NEW_IMAGE"},
        })
    return {"Records": records}


def table(endpoint):
    import boto3

    return boto3.resource("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench").Table("cruddur-messages")


def write(endpoint, path):
    from boto3.dynamodb.types import TypeDeserializer

    plain = TypeDeserializer()
    with table(endpoint).batch_writer() as batch:
        for r in json.load(open(path))["Records"]:
            image = r["dynamodb"]["NewImage"]
            batch.put_item(Item={k: plain.deserialize(v) for k, v in image.items()})


def check(endpoint, groups, n):
    from boto3.dynamodb.conditions import Key

    newest = {}
    for i in range(n):
        newest[group(i % groups)] = (message_sk(i), f"new-message-{i}")
    t, right = table(endpoint), 0
    for g, (sk, text) in newest.items():
        rows = t.query(IndexName="message-group-sk-index",
                       KeyConditionExpression=Key("message_group_uuid").eq(g))["Items"]
        right += sum(1 for r in rows if r["sk"] == sk and r["message"] == text)
    print(right)


def main():
    kind = sys.argv[1]
    if kind == "write":
        write(sys.argv[2], sys.argv[3])
        return
    if kind == "check":
        check(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    groups, n = int(sys.argv[2]), int(sys.argv[3])
    if kind == "event":
        json.dump(event(groups, n), sys.stdout)
    elif kind == "fixture":
        json.dump(fixture(groups), sys.stdout)
    elif kind == "puts":
        print("\n".join(puts(groups, n)))
    else:
        sys.exit(f"unknown kind {kind!r}: fixture, puts, event, write or check")


if __name__ == "__main__":
    main()
