//! Private data collections: one per distinct set of participant orgs, named from the sorted MSP
//! ids, and the generator of the collections config the chaincode definition carries.

use serde_json::{json, Value};

use crate::error::{ContractError, Result};

/// `col_Org1MSP_Org2MSP` for {Org2MSP, Org1MSP}: order and duplicates do not matter.
pub fn name_for<'a>(msp_ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut ids: Vec<&str> = msp_ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    format!("col_{}", ids.join("_"))
}

/// The prefix of Fabric's implicit collection of an org (`_implicit_org_Org1MSP`).
pub const IMPLICIT_PREFIX: &str = "_implicit_org_";

/// Fabric's implicit collection of an org: one exists for every org of the channel, in no
/// chaincode definition.
pub fn implicit_name(msp_id: &str) -> String {
    format!("{IMPLICIT_PREFIX}{msp_id}")
}

/// The org set as `Org1MSP,Org2MSP`, the form `network.sh addCollection` takes.
pub fn org_set_arg<'a>(msp_ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut ids: Vec<&str> = msp_ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    ids.join(",")
}

fn parse_set(s: &str) -> Result<Vec<String>> {
    let mut ids: Vec<String> = s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_owned).collect();
    if ids.is_empty() {
        return Err(ContractError::bad(format!("empty org set {s:?}")));
    }
    for id in &ids {
        if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
            return Err(ContractError::bad(format!("MSP id {id:?} must be A-Z a-z 0-9 . -")));
        }
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The channel policy that a collection of a consortium org set refers to for its endorsement: the
/// org's own `Endorsement` policy for one org, `col.A.B…` of fabric-network/configtx.yaml's
/// Application policies for more (a config key allows no `_`).
pub fn endorsement_ref(orgs: &[String]) -> String {
    match orgs {
        [one] => format!("/Channel/Application/{one}/Endorsement"),
        _ => format!("/Channel/Application/col.{}", orgs.join(".")),
    }
}

/// One collection; `by_reference`: its endorsement policy is a channel policy (see
/// `endorsement_ref`), else it carries the policy itself.
fn definition(orgs: &[String], by_reference: bool) -> Value {
    let members: Vec<String> = orgs.iter().map(|o| format!("'{o}.member'")).collect();
    let peers: Vec<String> = orgs.iter().map(|o| format!("'{o}.peer'")).collect();
    // Writes to a phase's data need a peer of every participant org. Fabric reads and unmarshals
    // the whole chaincode definition, every collection's policies included, several times per
    // transaction (per private key it validates): a name instead of the policy made PutRecord
    // cost the network 3-12 % less CPU with 7 collections (docs/benchmarks.md).
    let endorsement = if by_reference {
        json!({ "channelConfigPolicy": endorsement_ref(orgs) })
    } else {
        json!({ "signaturePolicy": format!("AND({})", peers.join(",")) })
    };
    json!({
        "name": name_for(orgs.iter().map(String::as_str)),
        "policy": format!("OR({})", members.join(",")),
        // Endorsement may succeed with the data on the endorsers alone (a peer of every member
        // org endorses a phase's writes, so each org holds it from the start). They push it to
        // nobody: the other member peers pull a block's private data in one request when they
        // commit it. Pushing each transaction to 3 peers cost the network 17-29% more CPU per
        // PutRecord (docs/benchmarks.md, "What a transaction costs").
        "requiredPeerCount": 0,
        "maxPeerCount": 0,
        "blockToLive": 0,
        "memberOnlyRead": true,
        "memberOnlyWrite": true,
        "endorsementPolicy": endorsement
    })
}

/// The collections config for `spec`: `;`-separated org sets. The first set is the consortium
/// and yields every non-empty subset of it; each further set (added later to the definition)
/// yields exactly that set. A set within the consortium is endorsed by reference to the
/// channel's policies; one outside it carries its endorsement policy (the channel has none for it).
pub fn config(spec: &str) -> Result<Value> {
    config_limited(spec, None)
}

/// `config`, with the consortium's subsets limited to the `;`-separated org sets of `only`, for a
/// consortium that knows which org sets its phases will have: a smaller definition costs every
/// transaction less (docs/benchmarks.md), and a phase on another set is refused naming the
/// `network.sh addCollection` that adds it.
pub fn config_limited(spec: &str, only: Option<&str>) -> Result<Value> {
    let mut parts = spec.split(';').map(str::trim).filter(|p| !p.is_empty());
    let consortium = parse_set(parts.next().ok_or_else(|| ContractError::bad("no org set given"))?)?;
    let in_consortium = |s: &[String]| s.iter().all(|o| consortium.contains(o));
    let mut sets: Vec<Vec<String>> = Vec::new();
    match only {
        Some(only) => {
            for p in only.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                let set = parse_set(p)?;
                if !in_consortium(&set) {
                    return Err(ContractError::bad(format!("org set {} is not within the consortium {}", set.join(","), consortium.join(","))));
                }
                if !sets.contains(&set) {
                    sets.push(set);
                }
            }
            if sets.is_empty() {
                return Err(ContractError::bad("no org set to limit the collections to"));
            }
        }
        None => {
            if consortium.len() > 12 {
                return Err(ContractError::bad("more than 12 orgs: limit the collections to the org sets in use"));
            }
            for mask in 1u32..(1 << consortium.len()) {
                sets.push(consortium.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, o)| o.clone()).collect());
            }
        }
    }
    for p in parts {
        let set = parse_set(p)?;
        if !sets.contains(&set) {
            sets.push(set);
        }
    }
    sets.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    Ok(Value::Array(sets.iter().map(|s| definition(s, in_consortium(s))).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_order_independent() {
        assert_eq!(name_for(["Org2MSP", "Org1MSP", "Org2MSP"]), "col_Org1MSP_Org2MSP");
        assert_eq!(org_set_arg(["Org3MSP", "Org1MSP"]), "Org1MSP,Org3MSP");
    }

    #[test]
    fn three_orgs_give_seven_collections() {
        let c = config("Org1MSP,Org2MSP,Org3MSP").unwrap();
        let names: Vec<&str> = c.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
        assert_eq!(names.len(), 7);
        assert!(names.contains(&"col_Org1MSP_Org3MSP"));
        let d = &c[6];
        assert_eq!(d["name"], "col_Org1MSP_Org2MSP_Org3MSP");
        assert_eq!(d["policy"], "OR('Org1MSP.member','Org2MSP.member','Org3MSP.member')");
        assert_eq!(d["endorsementPolicy"]["channelConfigPolicy"], "/Channel/Application/col.Org1MSP.Org2MSP.Org3MSP");
        assert_eq!(c[0]["endorsementPolicy"]["channelConfigPolicy"], "/Channel/Application/Org1MSP/Endorsement");
        assert_eq!(d["memberOnlyRead"], true);
        assert_eq!(d["memberOnlyWrite"], true);
    }

    #[test]
    fn added_sets_come_once() {
        let c = config("Org1MSP,Org2MSP;Org1MSP,Org4MSP;Org2MSP").unwrap();
        let names: Vec<&str> = c.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["col_Org1MSP", "col_Org2MSP", "col_Org1MSP_Org2MSP", "col_Org1MSP_Org4MSP"]);
        // Outside the consortium the channel has no policy to refer to.
        assert_eq!(c[3]["endorsementPolicy"]["signaturePolicy"], "AND('Org1MSP.peer','Org4MSP.peer')");
        assert!(c[2]["endorsementPolicy"]["channelConfigPolicy"].is_string());
    }

    /// Every policy the network's collections refer to is in the channel's configtx.yaml, as a
    /// peer of every org of the set: a missing one would fail every write to its collection.
    #[test]
    fn configtx_holds_every_referenced_policy() {
        let configtx = include_str!("../../fabric-network/configtx.yaml");
        let consortium = ["Org1MSP", "Org2MSP", "Org3MSP"];
        for d in config(&consortium.join(",")).unwrap().as_array().unwrap() {
            let orgs: Vec<&str> = d["name"].as_str().unwrap().trim_start_matches("col_").split('_').collect();
            let rule = |op: &str| format!("{op}({})", orgs.iter().map(|o| format!("'{o}.peer'")).collect::<Vec<_>>().join(", "));
            let reference = d["endorsementPolicy"]["channelConfigPolicy"].as_str().unwrap();
            let line = match reference.strip_prefix("/Channel/Application/") {
                Some(p) if p.ends_with("/Endorsement") => format!("Endorsement: {{Type: Signature, Rule: \"{}\"}}", rule("OR")),
                Some(p) => format!("    {p}: {{Type: Signature, Rule: \"{}\"}}", rule("AND")),
                None => panic!("{reference} is not an Application policy"),
            };
            assert!(configtx.contains(&line), "configtx.yaml lacks {line:?} for {reference}");
        }
    }

    #[test]
    fn limited_to_the_sets_in_use() {
        let names = |c: Value| c.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        let c = config_limited("Org1MSP,Org2MSP,Org3MSP;Org1MSP,Org4MSP;Org3MSP", Some("Org2MSP,Org1MSP; Org1MSP,Org2MSP,Org3MSP")).unwrap();
        // The limit applies to the consortium's subsets; sets added later stay.
        assert_eq!(names(c.clone()), vec!["col_Org3MSP", "col_Org1MSP_Org2MSP", "col_Org1MSP_Org4MSP", "col_Org1MSP_Org2MSP_Org3MSP"]);
        assert_eq!(c[1]["endorsementPolicy"]["channelConfigPolicy"], "/Channel/Application/col.Org1MSP.Org2MSP");
        let e = config_limited("Org1MSP,Org2MSP", Some("Org1MSP,Org9MSP")).unwrap_err().to_string();
        assert!(e.contains("Org1MSP,Org9MSP is not within the consortium Org1MSP,Org2MSP"), "{e}");
        assert!(config_limited("Org1MSP,Org2MSP", Some(" ; ")).is_err());
        // Past 12 orgs only a limited config is possible.
        let many: Vec<String> = (1..=13).map(|i| format!("Org{i}MSP")).collect();
        assert!(config(&many.join(",")).is_err());
        assert_eq!(names(config_limited(&many.join(","), Some("Org1MSP,Org13MSP")).unwrap()), vec!["col_Org13MSP_Org1MSP"]);
    }

    #[test]
    fn bad_specs() {
        assert!(config("").is_err());
        assert!(config("Org1MSP,Org 2").is_err());
    }
}
