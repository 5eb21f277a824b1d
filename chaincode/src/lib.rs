//! svcflow chaincode: the model shared with the gateway and the contract run as a service.
