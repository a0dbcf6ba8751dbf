//! `ddb lambda template`: the CloudFormation template that deploys the handler, built from the
//! schema the binary creates tables from (so the table in AWS has the keys, index and stream
//! `schema-load` gives DynamoDB Local), and from the handler's own constants (the MSG# filter,
//! the index its role may query).

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

use crate::model::schema::{BillingMode, KeyElem, Schema, StreamSpec, StreamView, Throughput};
use crate::model::{GROUP_INDEX, MSG_PREFIX};

/// Records per invocation. Lambda allows up to 10,000 for a stream; a few hundred lets the
/// handler coalesce several messages of a busy conversation into one move while a batch stays
/// far below the 6 MB payload limit and the function's timeout.
pub const BATCH_SIZE: u32 = 500;
/// How long Lambda may gather records before invoking with fewer than BATCH_SIZE: a
/// conversation's rows lag its newest message by at most about this much when traffic is low.
pub const BATCHING_WINDOW_S: u32 = 1;
/// Retries of a failing batch (from the first reported failure) before its records go to the
/// on-failure queue; with bisection, a poison record is isolated within these.
pub const MAX_RETRY_ATTEMPTS: u32 = 10;
/// Records older than this are sent to the on-failure queue instead of being handled.
pub const MAX_RECORD_AGE_S: u32 = 6 * 3600;
/// Seconds per invocation: a batch of BATCH_SIZE records takes a few seconds at most.
pub const TIMEOUT_S: u32 = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    #[value(name = "x86_64")]
    X86_64,
    #[value(name = "arm64")]
    Arm64,
}

impl Arch {
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }
}

/// The filter pattern (EventBridge syntax) on the event source mapping: only INSERT and MODIFY
/// of MSG# items invoke the function, so the handler's own GRP# writes never wake it.
pub fn filter_pattern() -> Value {
    json!({
        "eventName": ["INSERT", "MODIFY"],
        "dynamodb": {"Keys": {"pk": {"S": [{"prefix": MSG_PREFIX}]}}}
    })
}

/// The whole template as a JSON value (printed as YAML).
pub fn build(schema: &Schema, arch: Arch) -> Result<Value> {
    let stream_view = match &schema.stream_specification {
        Some(StreamSpec {
            stream_enabled: true,
            stream_view_type: Some(v),
        }) => *v,
        _ => bail!("the schema has no stream; the handler needs one with NEW_IMAGE"),
    };
    if !matches!(
        stream_view,
        StreamView::NewImage | StreamView::NewAndOldImages
    ) {
        bail!("the schema's stream is {stream_view}; the handler needs NEW_IMAGE");
    }
    if !schema
        .global_secondary_indexes
        .iter()
        .any(|g| g.index_name == GROUP_INDEX)
    {
        bail!("the schema has no index {GROUP_INDEX}, which the handler queries");
    }
    let provisioned = schema.billing() == BillingMode::Provisioned;

    let mut table = Map::new();
    table.insert("TableName".into(), json!({"Ref": "TableName"}));
    table.insert(
        "AttributeDefinitions".into(),
        schema
            .attribute_definitions
            .iter()
            .map(|a| json!({"AttributeName": a.attribute_name, "AttributeType": a.attribute_type}))
            .collect(),
    );
    table.insert("KeySchema".into(), keys(&schema.key_schema));
    let gsis: Vec<Value> = schema
        .global_secondary_indexes
        .iter()
        .map(|g| {
            let mut projection = json!({"ProjectionType": g.projection.projection_type});
            if !g.projection.non_key_attributes.is_empty() {
                projection["NonKeyAttributes"] = json!(g.projection.non_key_attributes);
            }
            let mut gsi = json!({
                "IndexName": g.index_name,
                "KeySchema": keys(&g.key_schema),
                "Projection": projection,
            });
            if let (true, Some(t)) = (provisioned, g.provisioned_throughput) {
                gsi["ProvisionedThroughput"] = throughput(t);
            }
            gsi
        })
        .collect();
    if !gsis.is_empty() {
        table.insert("GlobalSecondaryIndexes".into(), Value::Array(gsis));
    }
    if provisioned {
        table.insert("BillingMode".into(), json!("PROVISIONED"));
        if let Some(t) = schema.provisioned_throughput {
            table.insert("ProvisionedThroughput".into(), throughput(t));
        }
    } else {
        table.insert("BillingMode".into(), json!("PAY_PER_REQUEST"));
    }
    table.insert(
        "StreamSpecification".into(),
        json!({"StreamViewType": stream_view}),
    );
    table.insert("DeletionProtectionEnabled".into(), json!(true));
    table.insert(
        "PointInTimeRecoverySpecification".into(),
        json!({"PointInTimeRecoveryEnabled": true}),
    );
    table.insert("SSESpecification".into(), json!({"SSEEnabled": true}));

    let table_arn = json!({"Fn::GetAtt": ["MessagesTable", "Arn"]});
    Ok(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "Cruddur direct messages: the {} table and the ddb stream handler (provided.al2023, {}) that moves both GRP# rows of a conversation to its newest message. Generated by `ddb lambda template`.",
            schema.table_name, arch.as_str()
        ),
        "Parameters": {
            "TableName": {
                "Type": "String",
                "Default": schema.table_name,
                "AllowedPattern": "[a-zA-Z0-9_.-]{3,255}",
                "Description": "DynamoDB table name",
            },
            "FunctionName": {
                "Type": "String",
                "Default": format!("{}-stream", schema.table_name),
                "AllowedPattern": "[a-zA-Z0-9_-]{1,64}",
                "Description": "Lambda function name",
            },
            "CodeS3Bucket": {
                "Type": "String",
                "Description": "S3 bucket holding the deployment zip (`just lambda-zip`)",
            },
            "CodeS3Key": {
                "Type": "String",
                "Default": "ddb/bootstrap.zip",
                "Description": "S3 key of the deployment zip",
            },
        },
        "Resources": {
            "MessagesTable": {
                "Type": "AWS::DynamoDB::Table",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": table,
            },
            // What it holds (the batches Lambda gave up on) is evidence to keep.
            "FailureQueue": {
                "Type": "AWS::SQS::Queue",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "MessageRetentionPeriod": 1_209_600,
                    "SqsManagedSseEnabled": true,
                },
            },
            "FunctionLogGroup": {
                "Type": "AWS::Logs::LogGroup",
                "DeletionPolicy": "Delete",
                "UpdateReplacePolicy": "Delete",
                "Properties": {
                    "LogGroupName": {"Fn::Sub": "/aws/lambda/${FunctionName}"},
                    "RetentionInDays": 30,
                },
            },
            "FunctionRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }],
                    },
                    "Policies": [{
                        "PolicyName": "stream-handler",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "ReadTheStream",
                                    "Effect": "Allow",
                                    "Action": [
                                        "dynamodb:DescribeStream",
                                        "dynamodb:GetRecords",
                                        "dynamodb:GetShardIterator",
                                        "dynamodb:ListStreams",
                                    ],
                                    // Every stream of the table: its ARN changes if the stream is
                                    // ever disabled and enabled again.
                                    "Resource": {"Fn::Sub": "${MessagesTable.Arn}/stream/*"},
                                },
                                {
                                    "Sid": "QueryTheGroupIndex",
                                    "Effect": "Allow",
                                    "Action": "dynamodb:Query",
                                    "Resource": {"Fn::Sub": format!("${{MessagesTable.Arn}}/index/{GROUP_INDEX}")},
                                },
                                {
                                    "Sid": "MoveGroupRowsInTransactions",
                                    "Effect": "Allow",
                                    "Action": ["dynamodb:DeleteItem", "dynamodb:PutItem"],
                                    "Resource": table_arn.clone(),
                                },
                                {
                                    "Sid": "SendFailedBatchesToTheQueue",
                                    "Effect": "Allow",
                                    "Action": "sqs:SendMessage",
                                    "Resource": {"Fn::GetAtt": ["FailureQueue", "Arn"]},
                                },
                                {
                                    "Sid": "WriteLogs",
                                    "Effect": "Allow",
                                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                    "Resource": {"Fn::GetAtt": ["FunctionLogGroup", "Arn"]},
                                },
                            ],
                        },
                    }],
                },
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": {"Ref": "FunctionName"},
                    "Description": "ddb stream handler: moves both GRP# rows to the newest message",
                    "Runtime": "provided.al2023",
                    "Handler": "bootstrap",
                    "Architectures": [arch.as_str()],
                    "Code": {"S3Bucket": {"Ref": "CodeS3Bucket"}, "S3Key": {"Ref": "CodeS3Key"}},
                    "MemorySize": 256,
                    "Timeout": TIMEOUT_S,
                    "Role": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
                    "LoggingConfig": {"LogGroup": {"Ref": "FunctionLogGroup"}},
                    "Environment": {"Variables": {"DDB_TABLE": {"Ref": "MessagesTable"}}},
                },
            },
            "StreamMapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "EventSourceArn": {"Fn::GetAtt": ["MessagesTable", "StreamArn"]},
                    "FunctionName": {"Ref": "Function"},
                    "StartingPosition": "LATEST",
                    "BatchSize": BATCH_SIZE,
                    "MaximumBatchingWindowInSeconds": BATCHING_WINDOW_S,
                    "ParallelizationFactor": 1,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    "BisectBatchOnFunctionError": true,
                    "MaximumRetryAttempts": MAX_RETRY_ATTEMPTS,
                    "MaximumRecordAgeInSeconds": MAX_RECORD_AGE_S,
                    "DestinationConfig": {
                        "OnFailure": {"Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]}},
                    },
                    "FilterCriteria": {"Filters": [{"Pattern": filter_pattern().to_string()}]},
                },
            },
        },
        "Outputs": {
            "TableArn": {"Value": table_arn},
            "StreamArn": {"Value": {"Fn::GetAtt": ["MessagesTable", "StreamArn"]}},
            "FunctionArn": {"Value": {"Fn::GetAtt": ["Function", "Arn"]}},
            "FunctionRoleArn": {"Value": {"Fn::GetAtt": ["FunctionRole", "Arn"]}},
            "FailureQueueArn": {"Value": {"Fn::GetAtt": ["FailureQueue", "Arn"]}},
            "FailureQueueUrl": {"Value": {"Ref": "FailureQueue"}},
        },
    }))
}

fn keys(ks: &[KeyElem]) -> Value {
    ks.iter()
        .map(|k| json!({"AttributeName": k.attribute_name, "KeyType": k.key_type}))
        .collect()
}

fn throughput(t: Throughput) -> Value {
    json!({"ReadCapacityUnits": t.read_capacity_units, "WriteCapacityUnits": t.write_capacity_units})
}
