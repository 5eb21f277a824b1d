//! Collection names. A phase's data lives in its participant orgs' implicit collections, one
//! per org of the channel, which Fabric provides without any chaincode definition; phases created
//! before that model keep one collection of their org set (`col_Org1MSP_Org2MSP`), which networks
//! deployed then keep in their definition.

/// The prefix of Fabric's implicit collection of an org (`_implicit_org_Org1MSP`).
pub const IMPLICIT_PREFIX: &str = "_implicit_org_";

/// Fabric's implicit collection of an org: one exists for every org of the channel, in no
/// chaincode definition.
pub fn implicit_name(msp_id: &str) -> String {
    format!("{IMPLICIT_PREFIX}{msp_id}")
}

/// The collection an older version gave a phase of these orgs (order and duplicates do not
/// matter): what such a phase's `collection` says.
pub fn org_set_name<'a>(msp_ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut ids: Vec<&str> = msp_ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    format!("col_{}", ids.join("_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(implicit_name("Org1MSP"), "_implicit_org_Org1MSP");
        assert_eq!(org_set_name(["Org2MSP", "Org1MSP", "Org2MSP"]), "col_Org1MSP_Org2MSP");
    }
}
