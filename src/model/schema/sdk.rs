//! A table definition as the SDK's CreateTable pieces. The definition is checked first
//! (`Schema::check`), so what is left to fail here is only the SDK's own builders.

use anyhow::Result;
use aws_sdk_dynamodb::types::{
    self as sdk, AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, Projection,
    ProvisionedThroughput, StreamSpecification,
};

use crate::model::schema::file::{BillingMode, KeyElem, Schema, Throughput};

/// SDK pieces built from the file, validated.
pub struct SdkSchema {
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    pub billing_mode: sdk::BillingMode,
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    pub stream_specification: Option<StreamSpecification>,
}

impl Schema {
    /// The SDK pieces for CreateTable, after the checks serde cannot make.
    pub fn to_sdk(&self) -> Result<SdkSchema> {
        self.check()?;
        let keys = |ks: &[KeyElem]| -> Result<Vec<KeySchemaElement>> {
            ks.iter()
                .map(|k| {
                    Ok(KeySchemaElement::builder()
                        .attribute_name(&k.attribute_name)
                        .key_type(sdk::KeyType::from(k.key_type.as_str()))
                        .build()?)
                })
                .collect()
        };
        let billing = self.billing();
        let throughput = |t: &Option<Throughput>| -> Result<Option<ProvisionedThroughput>> {
            match (billing, t) {
                (BillingMode::Provisioned, Some(t)) => Ok(Some(
                    ProvisionedThroughput::builder()
                        .read_capacity_units(t.read_capacity_units)
                        .write_capacity_units(t.write_capacity_units)
                        .build()?,
                )),
                _ => Ok(None),
            }
        };
        let mut gsis = Vec::new();
        for g in &self.global_secondary_indexes {
            let mut projection = Projection::builder().projection_type(sdk::ProjectionType::from(
                g.projection.projection_type.as_str(),
            ));
            for a in &g.projection.non_key_attributes {
                projection = projection.non_key_attributes(a);
            }
            let mut gsi = GlobalSecondaryIndex::builder()
                .index_name(&g.index_name)
                .set_key_schema(Some(keys(&g.key_schema)?))
                .projection(projection.build());
            if let Some(t) = throughput(&g.provisioned_throughput)? {
                gsi = gsi.provisioned_throughput(t);
            }
            gsis.push(gsi.build()?);
        }
        let stream_specification = match &self.stream_specification {
            None => None,
            Some(s) => {
                let mut b = StreamSpecification::builder().stream_enabled(s.stream_enabled);
                if let Some(v) = s.stream_view_type {
                    b = b.stream_view_type(sdk::StreamViewType::from(v.as_str()));
                }
                Some(b.build()?)
            }
        };
        let attribute_definitions = self
            .attribute_definitions
            .iter()
            .map(|a| {
                AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(sdk::ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build()
                    .map_err(anyhow::Error::from)
            })
            .collect::<Result<_>>()?;
        Ok(SdkSchema {
            attribute_definitions,
            key_schema: keys(&self.key_schema)?,
            global_secondary_indexes: gsis,
            provisioned_throughput: throughput(&self.provisioned_throughput)?,
            billing_mode: sdk::BillingMode::from(billing.as_str()),
            stream_specification,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::model::schema::builtin;

    #[test]
    fn the_builtin_schema_converts_with_its_index_and_stream() {
        let sdk = builtin().to_sdk().unwrap();
        assert_eq!(sdk.global_secondary_indexes.len(), 1);
        let gsi = &sdk.global_secondary_indexes[0];
        assert_eq!(gsi.index_name(), "message-group-sk-index");
        assert_eq!(gsi.key_schema().len(), 2);
        let stream = sdk.stream_specification.expect("a stream");
        assert!(stream.stream_enabled());
        assert_eq!(
            stream.stream_view_type(),
            Some(&aws_sdk_dynamodb::types::StreamViewType::NewImage)
        );
        assert_eq!(
            sdk.billing_mode,
            aws_sdk_dynamodb::types::BillingMode::Provisioned
        );
    }

    #[test]
    fn a_definition_that_breaks_a_rule_is_not_converted() {
        let mut s = builtin();
        s.key_schema.swap(0, 1);
        let err = s.to_sdk().err().unwrap();
        assert!(
            format!("{err:#}").contains("expected a HASH key"),
            "{err:#}"
        );
    }
}
