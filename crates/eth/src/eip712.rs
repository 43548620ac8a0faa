//! EIP-712 typed structured data (`eth_signTypedData_v4`).

use alloy_dyn_abi::TypedData;
use alloy_primitives::{keccak256, B256};
use tandem_keys::PrivateKey;

use crate::{
    signature::{sign_hash, Signature},
    Error, Result,
};

/// Parses typed data as dapps send it: a JSON object, or a string holding one.
pub fn parse(json: &str) -> Result<TypedData> {
    let data: TypedData =
        serde_json::from_str(json).map_err(|e| Error::TypedData(e.to_string()))?;
    if !data.resolver.contains_type_name(&data.primary_type) && data.primary_type != "EIP712Domain"
    {
        return Err(Error::TypedData(format!(
            "primaryType `{}` is not defined in types",
            data.primary_type
        )));
    }
    Ok(data)
}

/// The domain separator. When the dapp declares `EIP712Domain` in `types`, the
/// domain is hashed with exactly those fields in that order (as eth-sig-util and
/// viem do); otherwise with the fields present, in the standard order.
pub fn domain_separator(data: &TypedData) -> Result<B256> {
    if !data.resolver.contains_type_name("EIP712Domain") {
        return Ok(data.domain.separator());
    }
    let domain = TypedData {
        domain: data.domain.clone(),
        resolver: data.resolver.clone(),
        primary_type: "EIP712Domain".into(),
        message: serde_json::to_value(&data.domain).map_err(|e| Error::TypedData(e.to_string()))?,
    };
    domain
        .hash_struct()
        .map_err(|e| Error::TypedData(format!("domain: {}", abi_error(e))))
}

/// alloy's error, said through `Display` only: its type mismatch quotes
/// the two types with `Debug`, which the core module formats as nothing
/// (`-Zfmt-debug=none`, scripts/build), so that one is said here.
fn abi_error(e: alloy_dyn_abi::Error) -> String {
    match e {
        alloy_dyn_abi::Error::TypeMismatch { expected, actual } => {
            format!("type mismatch: expected type `{expected}`, got value with type `{actual}`")
        }
        e => e.to_string(),
    }
}

/// `keccak256("\x19\x01" || domainSeparator || hashStruct(message))`; just the
/// domain separator when the primary type is `EIP712Domain`.
pub fn signing_hash(data: &TypedData) -> Result<B256> {
    let mut buf = Vec::with_capacity(66);
    buf.extend_from_slice(&[0x19, 0x01]);
    buf.extend_from_slice(domain_separator(data)?.as_slice());
    if data.primary_type != "EIP712Domain" {
        let h = data
            .hash_struct()
            .map_err(|e| Error::TypedData(format!("message: {}", abi_error(e))))?;
        buf.extend_from_slice(h.as_slice());
    }
    Ok(keccak256(&buf))
}

/// Signs typed data.
pub fn sign(key: &PrivateKey, data: &TypedData) -> Result<Signature> {
    Ok(sign_hash(key, &signing_hash(data)?))
}
