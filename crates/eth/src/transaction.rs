//! Transactions: an `eth_sendTransaction`-shaped request with every field
//! filled in, signed into EIP-2718 raw bytes.

use alloy_consensus::{
    transaction::{RlpEcdsaDecodableTx, RlpEcdsaEncodableTx},
    SignableTransaction, Signed, Transaction, TxEip1559, TxEip2930, TxLegacy,
};
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{keccak256, Address, Bytes, TxKind, B256, U128, U256, U64, U8};
use serde::{Deserialize, Serialize};
use tandem_keys::PrivateKey;

use crate::{signature::sign_hash, Error, Result};

/// A transaction as JSON-RPC spells it (`eth_sendTransaction` params, quantities
/// as hex strings). The wallet fills nonce, gas and fees before signing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransactionRequest {
    /// Sender; when present it must be the signing account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Address>,
    /// Recipient; absent for contract creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Address>,
    /// Wei sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<U256>,
    /// Call data (`data` and `input` are synonyms; if both are given they must agree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Bytes>,
    /// Call data (newer spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Bytes>,
    /// Sender nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<U64>,
    /// Gas limit.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "gasLimit")]
    pub gas: Option<U64>,
    /// Legacy / EIP-2930 gas price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_price: Option<U128>,
    /// EIP-1559 fee cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fee_per_gas: Option<U128>,
    /// EIP-1559 priority fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_priority_fee_per_gas: Option<U128>,
    /// Chain id (required: the wallet never signs replayable transactions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<U64>,
    /// 0, 1 or 2; inferred from the fee fields when absent.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub tx_type: Option<U8>,
    /// EIP-2930 access list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_list: Option<AccessList>,
}

/// A signed transaction ready for `eth_sendRawTransaction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTransaction {
    /// EIP-2718 encoding (RLP for legacy).
    pub raw: Bytes,
    /// Transaction hash, `keccak256(raw)`.
    pub hash: B256,
    /// The type signed: 0, 1 or 2.
    pub tx_type: u8,
}

fn missing(field: &str) -> Error {
    Error::Transaction(format!(
        "{field} is missing; the wallet fills it before signing"
    ))
}

impl TransactionRequest {
    /// Parses the JSON object.
    ///
    /// Through a `serde_json::Value`, as the wallet controller's requests are:
    /// one deserializer instance for this struct's many optional quantities in
    /// the wasm module instead of two.
    pub fn from_json(json: &str) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::Transaction(e.to_string()))?;
        serde_json::from_value(value).map_err(|e| Error::Transaction(e.to_string()))
    }

    /// The type this request will be signed as.
    pub fn resolved_type(&self) -> Result<u8> {
        if let Some(t) = self.tx_type {
            let t = t.to::<u8>();
            return match t {
                0..=2 => Ok(t),
                other => Err(Error::UnsupportedTxType(other.into())),
            };
        }
        Ok(
            if self.max_fee_per_gas.is_some() || self.max_priority_fee_per_gas.is_some() {
                2
            } else if self.access_list.is_some() {
                1
            } else if self.gas_price.is_some() {
                0
            } else {
                2
            },
        )
    }

    fn input(&self) -> Result<Bytes> {
        match (&self.data, &self.input) {
            (Some(d), Some(i)) if d != i => Err(Error::Transaction(
                "data and input are both set and differ".into(),
            )),
            (Some(d), _) => Ok(d.clone()),
            (None, Some(i)) => Ok(i.clone()),
            (None, None) => Ok(Bytes::new()),
        }
    }

    /// The unsigned transaction in consensus form.
    pub fn build(&self) -> Result<UnsignedTransaction> {
        let chain_id = self
            .chain_id
            .ok_or_else(|| {
                Error::Transaction(
                    "chainId is missing; signing without one would be replayable on every chain"
                        .into(),
                )
            })?
            .to::<u64>();
        let nonce = self.nonce.ok_or_else(|| missing("nonce"))?.to::<u64>();
        let gas_limit = self.gas.ok_or_else(|| missing("gas"))?.to::<u64>();
        let to = self.to.map_or(TxKind::Create, TxKind::Call);
        let value = self.value.unwrap_or_default();
        let input = self.input()?;
        let ty = self.resolved_type()?;
        let fee_mismatch =
            |what: &str| Error::Transaction(format!("a type {ty} transaction cannot have {what}"));
        Ok(match ty {
            0 | 1 => {
                if self.max_fee_per_gas.is_some() || self.max_priority_fee_per_gas.is_some() {
                    return Err(fee_mismatch("maxFeePerGas/maxPriorityFeePerGas"));
                }
                let gas_price = self
                    .gas_price
                    .ok_or_else(|| missing("gasPrice"))?
                    .to::<u128>();
                if ty == 0 {
                    if self.access_list.is_some() {
                        return Err(fee_mismatch("an accessList"));
                    }
                    UnsignedTransaction::Legacy(TxLegacy {
                        chain_id: Some(chain_id),
                        nonce,
                        gas_price,
                        gas_limit,
                        to,
                        value,
                        input,
                    })
                } else {
                    UnsignedTransaction::Eip2930(TxEip2930 {
                        chain_id,
                        nonce,
                        gas_price,
                        gas_limit,
                        to,
                        value,
                        access_list: self.access_list.clone().unwrap_or_default(),
                        input,
                    })
                }
            }
            _ => {
                if self.gas_price.is_some() {
                    return Err(fee_mismatch("gasPrice"));
                }
                let max_fee_per_gas = self
                    .max_fee_per_gas
                    .ok_or_else(|| missing("maxFeePerGas"))?
                    .to::<u128>();
                let max_priority_fee_per_gas = self
                    .max_priority_fee_per_gas
                    .ok_or_else(|| missing("maxPriorityFeePerGas"))?
                    .to::<u128>();
                if max_priority_fee_per_gas > max_fee_per_gas {
                    return Err(Error::Transaction(
                        "maxPriorityFeePerGas is higher than maxFeePerGas".into(),
                    ));
                }
                UnsignedTransaction::Eip1559(TxEip1559 {
                    chain_id,
                    nonce,
                    gas_limit,
                    max_fee_per_gas,
                    max_priority_fee_per_gas,
                    to,
                    value,
                    access_list: self.access_list.clone().unwrap_or_default(),
                    input,
                })
            }
        })
    }
}

/// An unsigned transaction of a supported type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsignedTransaction {
    /// Type 0 with EIP-155 chain id.
    Legacy(TxLegacy),
    /// Type 1.
    Eip2930(TxEip2930),
    /// Type 2.
    Eip1559(TxEip1559),
}

impl UnsignedTransaction {
    /// The hash the sender signs.
    pub fn signature_hash(&self) -> B256 {
        match self {
            Self::Legacy(t) => t.signature_hash(),
            Self::Eip2930(t) => t.signature_hash(),
            Self::Eip1559(t) => t.signature_hash(),
        }
    }

    /// Signs and encodes.
    pub fn sign(self, key: &PrivateKey) -> SignedTransaction {
        let sig = sign_hash(key, &self.signature_hash());
        self.encode_signed(&sig)
    }

    /// Encodes with a signature made elsewhere (by the phone holding the
    /// key); the caller checks it against [`Self::signature_hash`] first.
    pub fn encode_signed(self, sig: &crate::Signature) -> SignedTransaction {
        // Each type encodes itself (EIP-2718: type byte || RLP; legacy: RLP with
        // the EIP-155 v). Going through alloy's TxEnvelope would link the
        // encoders and decoders of every type (EIP-4844 blobs, EIP-7702) into
        // the wasm module, for types the wallet never signs.
        let mut raw = Vec::new();
        let tx_type = match &self {
            Self::Legacy(t) => {
                t.eip2718_encode(sig, &mut raw);
                0
            }
            Self::Eip2930(t) => {
                t.eip2718_encode(sig, &mut raw);
                1
            }
            Self::Eip1559(t) => {
                t.eip2718_encode(sig, &mut raw);
                2
            }
        };
        let raw = Bytes::from(raw);
        SignedTransaction {
            hash: keccak256(&raw),
            raw,
            tx_type,
        }
    }
}

/// Signs a filled request with `key`, refusing a `from` that is another account.
pub fn sign(key: &PrivateKey, request: &TransactionRequest) -> Result<SignedTransaction> {
    if let Some(from) = request.from {
        if from != key.address() {
            return Err(Error::Transaction(format!(
                "from is {from} but the signing account is {}",
                key.address()
            )));
        }
    }
    Ok(request.build()?.sign(key))
}

/// A decoded signed transaction with its recovered sender.
#[derive(Debug, Clone)]
pub struct DecodedTransaction {
    /// The recovered sender.
    pub from: Address,
    /// Transaction hash.
    pub hash: B256,
    /// Chain id, if any.
    pub chain_id: Option<u64>,
    /// Nonce.
    pub nonce: u64,
    /// Recipient (None for creation).
    pub to: Option<Address>,
    /// Value in wei.
    pub value: U256,
}

/// Decodes EIP-2718 raw bytes of the types the wallet signs (legacy, EIP-2930,
/// EIP-1559) and recovers the sender. Other typed transactions (EIP-4844,
/// EIP-7702, ...) are refused as unsupported without being decoded.
pub fn decode(raw: &[u8]) -> Result<DecodedTransaction> {
    let mut buf = raw;
    let decoded = match raw.first() {
        None => return Err(Error::Decode("empty transaction".into())),
        Some(0xc0..) => summarize(TxLegacy::eip2718_decode(&mut buf))?,
        Some(1) => summarize(TxEip2930::eip2718_decode(&mut buf))?,
        Some(2) => summarize(TxEip1559::eip2718_decode(&mut buf))?,
        Some(&ty @ 0..=0x7f) => return Err(Error::UnsupportedTxType(ty.into())),
        Some(b) => {
            return Err(Error::Decode(format!(
                "first byte {b:#04x} is neither a transaction type nor an RLP list"
            )))
        }
    };
    if !buf.is_empty() {
        return Err(Error::Decode(format!("{} trailing bytes", buf.len())));
    }
    Ok(decoded)
}

fn summarize<T>(signed: alloy_eips::eip2718::Eip2718Result<Signed<T>>) -> Result<DecodedTransaction>
where
    T: SignableTransaction<alloy_primitives::Signature> + Transaction + RlpEcdsaEncodableTx,
{
    let s = signed.map_err(|e| Error::Decode(e.to_string()))?;
    Ok(DecodedTransaction {
        from: crate::signature::recover(&s.signature_hash(), s.signature())?,
        hash: *s.hash(),
        chain_id: s.tx().chain_id(),
        nonce: s.tx().nonce(),
        to: s.tx().to(),
        value: s.tx().value(),
    })
}
