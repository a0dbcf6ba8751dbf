//! Read requests as data. Each one is built once and then either sent (through the SDK and
//! `aws::pages`, which owns the page cursor) or shown by `--explain` as the JSON
//! `aws dynamodb <op> --cli-input-json` accepts for the first page, from the same fields, so
//! what is explained is what would be sent.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::operation::execute_statement::builders::ExecuteStatementFluentBuilder;
use aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use aws_sdk_dynamodb::Client;
use serde_json::{Map, Value};

use crate::model::item::{item_to_typed, to_typed, Item};

/// Expression attribute names and values shared by every expression of one request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bindings {
    pub names: BTreeMap<String, String>,
    pub values: BTreeMap<String, AttributeValue>,
}

impl Bindings {
    fn add_to(&self, body: &mut Map<String, Value>) {
        if !self.names.is_empty() {
            let names = self
                .names
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            body.insert("ExpressionAttributeNames".into(), Value::Object(names));
        }
        if !self.values.is_empty() {
            let values = self
                .values
                .iter()
                .map(|(k, v)| (k.clone(), to_typed(v)))
                .collect();
            body.insert("ExpressionAttributeValues".into(), Value::Object(values));
        }
    }

    fn names(&self) -> Option<std::collections::HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone().into_iter().collect())
    }

    fn values(&self) -> Option<std::collections::HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone().into_iter().collect())
    }
}

fn text(body: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        body.insert(key.into(), Value::String(v.clone()));
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryRequest {
    pub table: String,
    pub index: Option<String>,
    pub key_condition: String,
    pub filter: Option<String>,
    pub projection: Option<String>,
    pub bindings: Bindings,
    /// Sort-key ascending (DynamoDB's default) or, false, descending.
    pub forward: bool,
    pub limit: Option<i32>,
    pub consistent: bool,
    pub capacity: bool,
}

impl QueryRequest {
    pub fn cli_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("TableName".into(), self.table.clone().into());
        text(&mut body, "IndexName", &self.index);
        body.insert(
            "KeyConditionExpression".into(),
            self.key_condition.clone().into(),
        );
        text(&mut body, "FilterExpression", &self.filter);
        text(&mut body, "ProjectionExpression", &self.projection);
        self.bindings.add_to(&mut body);
        body.insert("ScanIndexForward".into(), self.forward.into());
        if let Some(n) = self.limit {
            body.insert("Limit".into(), n.into());
        }
        if self.consistent {
            body.insert("ConsistentRead".into(), true.into());
        }
        if self.capacity {
            body.insert("ReturnConsumedCapacity".into(), "TOTAL".into());
        }
        Value::Object(body)
    }

    pub fn builder(&self, client: &Client) -> QueryFluentBuilder {
        client
            .query()
            .table_name(&self.table)
            .set_index_name(self.index.clone())
            .key_condition_expression(&self.key_condition)
            .set_filter_expression(self.filter.clone())
            .set_projection_expression(self.projection.clone())
            .set_expression_attribute_names(self.bindings.names())
            .set_expression_attribute_values(self.bindings.values())
            .scan_index_forward(self.forward)
            .set_limit(self.limit)
            .set_consistent_read(self.consistent.then_some(true))
            .set_return_consumed_capacity(self.capacity.then_some(ReturnConsumedCapacity::Total))
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScanRequest {
    pub table: String,
    pub filter: Option<String>,
    pub bindings: Bindings,
    pub limit: Option<i32>,
    /// (segment, total segments) of a parallel scan.
    pub segment: Option<(i32, i32)>,
}

impl ScanRequest {
    pub fn cli_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("TableName".into(), self.table.clone().into());
        text(&mut body, "FilterExpression", &self.filter);
        self.bindings.add_to(&mut body);
        if let Some(n) = self.limit {
            body.insert("Limit".into(), n.into());
        }
        if let Some((segment, total)) = self.segment {
            body.insert("Segment".into(), segment.into());
            body.insert("TotalSegments".into(), total.into());
        }
        Value::Object(body)
    }

    pub fn builder(&self, client: &Client) -> ScanFluentBuilder {
        client
            .scan()
            .table_name(&self.table)
            .set_filter_expression(self.filter.clone())
            .set_expression_attribute_names(self.bindings.names())
            .set_expression_attribute_values(self.bindings.values())
            .set_limit(self.limit)
            .set_segment(self.segment.map(|s| s.0))
            .set_total_segments(self.segment.map(|s| s.1))
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct GetItemRequest {
    pub table: String,
    pub key: Item,
    pub projection: Option<String>,
    pub names: BTreeMap<String, String>,
    pub consistent: bool,
}

impl GetItemRequest {
    pub fn cli_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("TableName".into(), self.table.clone().into());
        body.insert("Key".into(), item_to_typed(&self.key));
        text(&mut body, "ProjectionExpression", &self.projection);
        let names = Bindings {
            names: self.names.clone(),
            ..Bindings::default()
        };
        names.add_to(&mut body);
        if self.consistent {
            body.insert("ConsistentRead".into(), true.into());
        }
        Value::Object(body)
    }

    pub fn builder(&self, client: &Client) -> GetItemFluentBuilder {
        client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.key.clone()))
            .set_projection_expression(self.projection.clone())
            .set_expression_attribute_names(
                (!self.names.is_empty()).then(|| self.names.clone().into_iter().collect()),
            )
            .set_consistent_read(self.consistent.then_some(true))
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatementRequest {
    pub statement: String,
    pub parameters: Vec<AttributeValue>,
    pub consistent: bool,
    pub limit: Option<i32>,
}

impl StatementRequest {
    pub fn cli_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("Statement".into(), self.statement.clone().into());
        if !self.parameters.is_empty() {
            body.insert(
                "Parameters".into(),
                Value::Array(self.parameters.iter().map(to_typed).collect()),
            );
        }
        if self.consistent {
            body.insert("ConsistentRead".into(), true.into());
        }
        if let Some(n) = self.limit {
            body.insert("Limit".into(), n.into());
        }
        Value::Object(body)
    }

    pub fn builder(&self, client: &Client) -> ExecuteStatementFluentBuilder {
        client
            .execute_statement()
            .statement(&self.statement)
            .set_parameters((!self.parameters.is_empty()).then(|| self.parameters.clone()))
            .set_consistent_read(self.consistent.then_some(true))
            .set_limit(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_json_has_the_cli_shape() {
        let request = QueryRequest {
            table: "t".into(),
            index: Some("i".into()),
            key_condition: "#pk = :pk".into(),
            filter: Some("#h = :h".into()),
            bindings: Bindings {
                names: BTreeMap::from([("#pk".into(), "pk".into()), ("#h".into(), "h".into())]),
                values: BTreeMap::from([
                    (":pk".into(), AttributeValue::N("7".into())),
                    (":h".into(), AttributeValue::S("x".into())),
                ]),
            },
            limit: Some(5),
            ..QueryRequest::default()
        };
        assert_eq!(
            request.cli_json(),
            json!({
                "TableName": "t", "IndexName": "i", "KeyConditionExpression": "#pk = :pk",
                "FilterExpression": "#h = :h",
                "ExpressionAttributeNames": {"#h": "h", "#pk": "pk"},
                "ExpressionAttributeValues": {":h": {"S": "x"}, ":pk": {"N": "7"}},
                "ScanIndexForward": false, "Limit": 5
            })
        );
    }

    #[test]
    fn statement_and_get_item_json() {
        let s = StatementRequest {
            statement: "SELECT * FROM t WHERE pk = ?".into(),
            parameters: vec![AttributeValue::S("a".into())],
            ..StatementRequest::default()
        };
        assert_eq!(
            s.cli_json(),
            json!({"Statement": "SELECT * FROM t WHERE pk = ?", "Parameters": [{"S": "a"}]})
        );
        let g = GetItemRequest {
            table: "t".into(),
            key: Item::from([("pk".into(), AttributeValue::S("a".into()))]),
            consistent: true,
            ..GetItemRequest::default()
        };
        assert_eq!(
            g.cli_json(),
            json!({"TableName": "t", "Key": {"pk": {"S": "a"}}, "ConsistentRead": true})
        );
    }
}
