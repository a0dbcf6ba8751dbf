"""A straight Python port of the ORIGINAL stream handler logic, for the benchmark (31-coalesce.sh).

The original Lambda took each record of a MSG# item, read the conversation's rows through the
group index, and for every row found deleted it and put it back at the message's sk with the
new text. No condition, no transaction, no coalescing: one Query, then a DeleteItem and a
PutItem per row, record by record, with boto3.

  original_handler.py ENDPOINT EVENT_FILE   -> prints the records handled and rows rewritten
"""

import json
import sys

import boto3
from boto3.dynamodb.conditions import Key

TABLE = "cruddur-messages"
INDEX = "message-group-sk-index"


def handle(table, record):
    keys = record["dynamodb"]["Keys"]
    pk, sk = keys["pk"]["S"], keys["sk"]["S"]
    if not pk.startswith("MSG#") or record["eventName"] == "REMOVE":
        return 0
    group = pk[len("MSG#"):]
    text = record["dynamodb"]["NewImage"]["message"]["S"]
    found = table.query(IndexName=INDEX, KeyConditionExpression=Key("message_group_uuid").eq(group))
    rewritten = 0
    for row in found["Items"]:
        table.delete_item(Key={"pk": row["pk"], "sk": row["sk"]})
        table.put_item(
            Item={
                "pk": row["pk"],
                "sk": sk,
                "message_group_uuid": row["message_group_uuid"],
                "message": text,
                "user_uuid": row["user_uuid"],
                "user_display_name": row["user_display_name"],
                "user_handle": row["user_handle"],
            }
        )
        rewritten += 1
    return rewritten


def main():
    endpoint, path = sys.argv[1], sys.argv[2]
    dynamodb = boto3.resource(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    table = dynamodb.Table(TABLE)
    records = json.load(open(path))["Records"]
    rows = sum(handle(table, r) for r in records)
    print(f"handled {len(records)} records, rewrote {rows} rows")


if __name__ == "__main__":
    main()
