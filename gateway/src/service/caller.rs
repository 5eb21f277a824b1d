//! Who a request is made as: the wallet user the gateway calls Fabric as, and its org.

#[derive(Clone, Debug)]
pub struct Caller {
    pub user: String,
    pub msp_id: String,
}
