//! The pending-approval queue and what an answer turns into.

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::decode::TokenCall;
use crate::{display, rpc};
use crate::{Asset, Error, Network, Result, State};

/// At most this many approvals wait at once (a page cannot flood the user).
pub const MAX_PENDING: usize = 20;
/// At most this many approvals from one origin.
pub const MAX_PENDING_PER_ORIGIN: usize = 5;

/// The smallest token allowance Tandem calls unlimited: 2^128. No token's
/// supply comes near it, and dapps that mean "no limit" ask 2^256 - 1 or a
/// little less (Permit2: 2^160 - 1). One rule everywhere
/// ([`crate::decode::is_unlimited_word`]): the approval window's warning,
/// the phone's policy ([`crate::confirm`]) and the pages' wording
/// (`tandem_ui::format::is_unlimited`), so that no amount reads as
/// unlimited on screen and passes as limited to the phone's policy.
pub const UNLIMITED_FROM: U256 = U256::from_limbs([0, 0, 1, 0]);

/// What the user is asked to approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    /// `eth_requestAccounts` / `wallet_requestPermissions`.
    Connect,
    /// `personal_sign`.
    PersonalSign,
    /// `eth_signTypedData_v4`.
    TypedData,
    /// `eth_sendTransaction`.
    Transaction,
    /// `wallet_addEthereumChain`.
    AddChain,
    /// `wallet_switchEthereumChain`.
    SwitchChain,
    /// `wallet_watchAsset`.
    WatchAsset,
    /// `wallet_sendCalls` (EIP-5792): a bundle of calls, sent one by one.
    Calls,
}

impl ApprovalKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::PersonalSign => "signature",
            Self::TypedData => "typed-data signature",
            Self::Transaction => "transaction",
            Self::AddChain => "add-network",
            Self::SwitchChain => "switch-network",
            Self::WatchAsset => "watch-token",
            Self::Calls => "call-bundle",
        }
    }
}

/// One request waiting for the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// Queue id (`approval.html?id=`).
    pub id: u64,
    /// Browser-reported origin of the requesting page.
    pub origin: String,
    /// Kind.
    pub kind: ApprovalKind,
    /// The validated request: `{ method, ... }` with normalized fields.
    pub request: Value,
    /// What the approval page shows, decoded for humans.
    pub display: Value,
    /// Milliseconds since the epoch.
    pub created_at: u64,
    /// Where the worker sends the answer (tab, frame, request id); opaque here.
    pub reply_to: Value,
    /// Still waiting for the node: a transaction's nonce, gas and fees, or
    /// the chain id a network to add answers ([`crate::Wallet::chain_checked`]).
    #[serde(default)]
    pub needs_fill: bool,
    /// Approved here, waiting for the phone (confirm on phone): the stored
    /// form of a [`crate::confirm::PhoneWait`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Value>,
}

/// What the worker must do once an approval is answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Resolution {
    /// Send `result` to the page.
    Reply {
        /// Reply target.
        reply_to: Value,
        /// JSON-RPC result.
        result: Value,
        /// The state changed (accounts, chain): broadcast to pages.
        changed: bool,
    },
    /// Approved here; the phone's policy covers it, so nothing is signed
    /// until the phone answers ([`crate::Wallet::phone_message`]). The
    /// request for the phone is in [`crate::Wallet::take_phone_outbox`].
    AwaitPhone {
        /// The approval, still pending.
        id: u64,
        /// Why the phone is asked.
        rule: tandem_confirm::Rule,
    },
    /// Send this JSON-RPC error to the page.
    Error {
        /// Reply target.
        reply_to: Value,
        /// `{ code, message }`.
        error: Value,
    },
    /// Sign an EIP-191 message with the keyring and reply with the signature.
    SignPersonal {
        /// Reply target.
        reply_to: Value,
        /// Signing account.
        address: Address,
        /// Message as the dapp sent it (`0x` hex or text).
        message: String,
    },
    /// Sign typed data and reply with the signature.
    SignTypedData {
        /// Reply target.
        reply_to: Value,
        /// Signing account.
        address: Address,
        /// The typed-data JSON.
        typed_data: String,
    },
    /// Send this transaction, signed on the phone holding the account's key
    /// (and checked here), record it, reply with the hash.
    SendSigned {
        /// Reply target.
        reply_to: Value,
        /// Requesting origin.
        origin: String,
        /// Signing account.
        address: Address,
        /// The transaction as approved (for the activity record).
        transaction: Value,
        /// EIP-2718 encoding, `0x` hex, for `eth_sendRawTransaction`.
        raw: String,
        /// Its hash.
        hash: String,
    },
    /// Sign this filled transaction, send it, record it, reply with the hash.
    SendTransaction {
        /// Reply target.
        reply_to: Value,
        /// Requesting origin.
        origin: String,
        /// Signing account.
        address: Address,
        /// A complete `TransactionRequest` (JSON-RPC spelling).
        transaction: Value,
    },
}

/// Edits the user may make on the approval page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Edits {
    /// Connect: the accounts to share (default: the active account).
    #[serde(default)]
    pub accounts: Option<Vec<Address>>,
    /// Transaction gas limit.
    #[serde(default)]
    pub gas: Option<alloy_primitives::U64>,
    /// Transaction fee cap.
    #[serde(default)]
    pub max_fee_per_gas: Option<alloy_primitives::U128>,
    /// Transaction priority fee.
    #[serde(default)]
    pub max_priority_fee_per_gas: Option<alloy_primitives::U128>,
    /// Legacy gas price.
    #[serde(default)]
    pub gas_price: Option<alloy_primitives::U128>,
    /// Nonce override (to replace a stuck transaction).
    #[serde(default)]
    pub nonce: Option<alloy_primitives::U64>,
}

/// Values the worker fetched from the node for a transaction (built by
/// [`crate::fees::fee_fill`] in the worker's third module, handed over as JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fill {
    /// `eth_getTransactionCount(from, "pending")`.
    pub nonce: alloy_primitives::U64,
    /// `eth_estimateGas`.
    pub gas_estimate: alloy_primitives::U64,
    /// Latest block's `baseFeePerGas` (None before London).
    #[serde(default)]
    pub base_fee: Option<alloy_primitives::U128>,
    /// `eth_maxPriorityFeePerGas`.
    #[serde(default)]
    pub priority_fee: Option<alloy_primitives::U128>,
    /// `eth_gasPrice`, used when the chain has no base fee.
    #[serde(default)]
    pub gas_price: Option<alloy_primitives::U128>,
}

impl crate::Session {
    /// Queues an approval, enforcing the limits.
    pub(crate) fn enqueue(&mut self, mut a: Approval) -> Result<u64> {
        if self.approvals.len() >= MAX_PENDING
            || self
                .approvals
                .iter()
                .filter(|x| x.origin == a.origin)
                .count()
                >= MAX_PENDING_PER_ORIGIN
        {
            return Err(Error::TooManyPending);
        }
        if matches!(a.kind, ApprovalKind::Connect)
            && self
                .approvals
                .iter()
                .any(|x| x.origin == a.origin && x.kind == a.kind)
        {
            return Err(Error::AlreadyPending(a.kind.label().into()));
        }
        self.next_id += 1;
        a.id = self.next_id;
        let id = a.id;
        self.approvals.push(a);
        Ok(id)
    }

    /// The approval with `id`.
    pub fn approval(&self, id: u64) -> Result<&Approval> {
        self.approvals
            .iter()
            .find(|a| a.id == id)
            .ok_or(Error::NoSuchApproval(id))
    }

    fn take(&mut self, id: u64) -> Result<Approval> {
        let i = self
            .approvals
            .iter()
            .position(|a| a.id == id)
            .ok_or(Error::NoSuchApproval(id))?;
        Ok(self.approvals.remove(i))
    }

    /// Rejects every approval from `origin` (e.g. its tab closed). Returns the
    /// resolutions to send.
    pub fn reject_origin(&mut self, origin: &str) -> Vec<Resolution> {
        let (gone, keep) = core::mem::take(&mut self.approvals)
            .into_iter()
            .partition(|a| a.origin == origin);
        self.approvals = keep;
        gone.into_iter()
            .map(|a: Approval| {
                self.cancel_on_phone(&a, "the site closed");
                Resolution::Error {
                    reply_to: a.reply_to,
                    error: Error::Rejected.to_rpc(),
                }
            })
            .collect()
    }

    /// Rejects everything when the wallet locks (by the user or auto-lock):
    /// a request is never left to be approved later, out of the context it
    /// was asked in. The page gets 4001 saying why; the phone drops it.
    pub fn reject_all(&mut self) -> Vec<crate::Answered> {
        core::mem::take(&mut self.approvals)
            .into_iter()
            .map(|a| {
                self.cancel_on_phone(&a, "Tandem locked on the computer");
                crate::Answered {
                    id: a.id,
                    then: Resolution::Error {
                        reply_to: a.reply_to,
                        error: serde_json::json!({
                            "code": Error::Rejected.code(),
                            "message": "Tandem locked before this request was answered; ask again",
                        }),
                    },
                }
            })
            .collect()
    }
}

impl crate::Wallet {
    /// Stores the node's nonce, gas estimate and fees in a transaction approval.
    /// Fields the dapp set are kept; the others are filled.
    pub fn fill_transaction(&mut self, id: u64, fill: &Fill) -> Result<()> {
        let a = self
            .session
            .approvals
            .iter_mut()
            .find(|a| a.id == id)
            .ok_or(Error::NoSuchApproval(id))?;
        if a.kind != ApprovalKind::Transaction {
            return Err(Error::Invalid(format!(
                "approval {id} is not a transaction"
            )));
        }
        let tx = a
            .request
            .get_mut("transaction")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| Error::Corrupt("transaction approval without a transaction".into()))?;
        // A nonce the site chose: below the account's next one, it replaces
        // a pending transaction (or fails, if that one was mined).
        let chosen = tx
            .get("nonce")
            .and_then(rpc::quantity)
            .and_then(|n| u64::try_from(n).ok());
        fill_tx(tx, fill)?;
        let tx = Value::Object(tx.clone());
        a.display = transaction_display(&self.state, &tx);
        if let (Some(n), Value::Array(ws)) = (chosen, &mut a.display["warnings"]) {
            let next = fill.nonce.to::<u64>();
            if n < next {
                ws.push(json!(format!(
                    "replaces a pending transaction: the site chose nonce {n}, already used by \
                     this account (its next is {next}); if that transaction was mined, this one fails"
                )));
            } else if n > next {
                ws.push(json!(format!(
                    "the site chose nonce {n}, ahead of this account's next ({next}): it waits \
                     for the ones before it"
                )));
            }
        }
        a.needs_fill = false;
        Ok(())
    }

    /// The node of a network a site asks to add answered `eth_chainId` with
    /// `answer` (`Value::Null`: it did not answer). The chain it serves must
    /// be the one the site named: then the approval can be approved
    /// (`None`); otherwise the request is refused with an error naming both
    /// ids, the approval is gone and nothing is saved (the resolution).
    pub fn chain_checked(&mut self, id: u64, answer: &Value) -> Result<Option<Resolution>> {
        let a = self.session.approval(id)?;
        let expected = a.request["network"]["chainId"].as_u64();
        let Some(expected) = expected.filter(|_| a.kind == ApprovalKind::AddChain && a.needs_fill)
        else {
            return Err(Error::Invalid(format!(
                "approval {id} does not wait for a network's chain id"
            )));
        };
        if let Err(why) = crate::rpc::check_chain_id(expected, answer) {
            let a = self.session.take(id)?;
            return Ok(Some(Resolution::Error {
                reply_to: a.reply_to,
                error: Error::params(why).to_rpc(),
            }));
        }
        if let Some(a) = self.session.approvals.iter_mut().find(|a| a.id == id) {
            a.needs_fill = false;
        }
        Ok(None)
    }

    /// Answers approval `id`. `unlocked` is whether the keyring is open (signing
    /// needs it). When the phone's policy covers the approval, `phone` is the
    /// request as the approval window showed it (see [`Wallet::needs_phone`])
    /// and `nonce`, from the CSPRNG, names it. Returns what the worker must
    /// do next.
    #[allow(clippy::too_many_arguments)]
    pub fn resolve(
        &mut self,
        id: u64,
        approve: bool,
        edits: &Edits,
        unlocked: bool,
        now: u64,
        phone: &str,
        nonce: [u8; 16],
    ) -> Result<Resolution> {
        if !approve {
            // The user's answer: it counts as activity for auto-lock.
            let r = self.withdraw(id)?;
            self.session.lock.touch(now);
            return Ok(r);
        }
        let a = self.session.approval(id)?;
        if !unlocked {
            return Err(Error::Unauthorized("unlock Tandem before approving".into()));
        }
        if a.needs_fill {
            return Err(Error::Invalid(
                if a.kind == ApprovalKind::AddChain {
                    "Tandem is still asking the network's RPC which chain it serves; try again in a moment"
                } else {
                    "the transaction's fees are still being fetched; try again in a moment"
                }
                .into(),
            ));
        }
        // Validate before removing, so a bad edit leaves the approval pending.
        let a = a.clone();
        if a.phone.is_some() {
            return Err(Error::Invalid(
                "this request waits for your phone: approve it there, or cancel it here".into(),
            ));
        }
        if let Some(rule) = self.needs_phone(&a) {
            return self.ask_phone(&a, rule, edits, phone, now, nonce);
        }
        let resolution = self.approved(&a, edits, now)?;
        self.session.take(id)?;
        self.session.lock.touch(now);
        Ok(resolution)
    }

    /// Rejects `id` without anyone answering it (its window or the page's
    /// tab closed): the page gets 4001 and the phone drops it, and unlike a
    /// rejection by the user it does not count as activity, so it does not
    /// put off auto-lock.
    pub fn withdraw(&mut self, id: u64) -> Result<Resolution> {
        let a = self.session.take(id)?;
        self.session
            .cancel_on_phone(&a, "cancelled on the computer");
        Ok(Resolution::Error {
            reply_to: a.reply_to,
            error: Error::Rejected.to_rpc(),
        })
    }

    pub(crate) fn approved(&mut self, a: &Approval, edits: &Edits, now: u64) -> Result<Resolution> {
        let reply_to = a.reply_to.clone();
        let req = &a.request;
        let field = |k: &str| req.get(k).cloned().unwrap_or(Value::Null);
        let address = |k: &str| -> Result<Address> {
            serde_json::from_value(field(k)).map_err(|e| Error::Corrupt(e.to_string()))
        };
        Ok(match a.kind {
            ApprovalKind::Connect => {
                let accounts = match &edits.accounts {
                    Some(list) if !list.is_empty() => {
                        if let Some(bad) = list
                            .iter()
                            .find(|x| !self.state.accounts.iter().any(|acc| acc.address == **x))
                        {
                            return Err(Error::Invalid(format!("no account {bad} in this wallet")));
                        }
                        list.clone()
                    }
                    Some(_) => return Err(Error::Invalid("choose at least one account".into())),
                    // The accounts chosen before the phone was asked, or the active one.
                    None => match req.get("accounts").and_then(Value::as_array) {
                        Some(list) => list
                            .iter()
                            .map(|x| {
                                serde_json::from_value(x.clone())
                                    .map_err(|e| Error::Corrupt(e.to_string()))
                            })
                            .collect::<Result<Vec<Address>>>()?,
                        None => self.state.selected.into_iter().collect::<Vec<_>>(),
                    },
                };
                if accounts.is_empty() {
                    return Err(Error::Invalid("the wallet has no account to share".into()));
                }
                self.state.grant(&a.origin, accounts, now);
                let result = if field("method") == "wallet_requestPermissions" {
                    self.state.permissions(&a.origin)
                } else {
                    json!(self.state.permitted(&a.origin))
                };
                Resolution::Reply {
                    reply_to,
                    result,
                    changed: true,
                }
            }
            ApprovalKind::PersonalSign => Resolution::SignPersonal {
                reply_to,
                address: address("address")?,
                message: field("message").as_str().unwrap_or_default().to_owned(),
            },
            ApprovalKind::TypedData => Resolution::SignTypedData {
                reply_to,
                address: address("address")?,
                typed_data: field("typedData").as_str().unwrap_or_default().to_owned(),
            },
            ApprovalKind::Transaction => {
                let mut tx = field("transaction");
                let obj = tx.as_object_mut().ok_or_else(|| {
                    Error::Corrupt("transaction approval without a transaction".into())
                })?;
                apply_edits(obj, edits)?;
                check_transaction(&tx)?;
                Resolution::SendTransaction {
                    reply_to,
                    origin: a.origin.clone(),
                    address: address("address")?,
                    transaction: tx,
                }
            }
            ApprovalKind::AddChain => {
                let n: Network = serde_json::from_value(field("network"))
                    .map_err(|e| Error::Corrupt(e.to_string()))?;
                let id = n.chain_id;
                let now_known = self.state.networks.iter().find(|x| x.chain_id == id);
                // Do what the window said: it showed the entry as it was then
                // (compared as JSON: no deserializer in the core module for it).
                let shown = a.display.get("alreadyKnown").unwrap_or(&Value::Null);
                if &json!(now_known) != shown {
                    return Err(Error::Invalid(format!(
                        "network {id} changed in Tandem since the site asked; reject this \
                         request and let the site ask again"
                    )));
                }
                if now_known != Some(&n) {
                    self.state.upsert_network(n)?;
                }
                self.state.select_network(id)?;
                Resolution::Reply {
                    reply_to,
                    result: Value::Null,
                    changed: true,
                }
            }
            ApprovalKind::SwitchChain => {
                let id = field("chainId").as_u64().unwrap_or_default();
                self.state.select_network(id)?;
                Resolution::Reply {
                    reply_to,
                    result: Value::Null,
                    changed: true,
                }
            }
            // The page's answer, `{ id }`, as `crate::calls` prepared it; the
            // bundle itself starts in the worker's extra module
            // (`crate::calls::Bundles::start`), stored with this answer.
            ApprovalKind::Calls => Resolution::Reply {
                reply_to,
                result: field("reply"),
                changed: false,
            },
            ApprovalKind::WatchAsset => {
                let asset: Asset = serde_json::from_value(field("asset"))
                    .map_err(|e| Error::Corrupt(e.to_string()))?;
                self.state.watch(asset)?;
                Resolution::Reply {
                    reply_to,
                    result: Value::Bool(true),
                    changed: false,
                }
            }
        })
    }
}

/// Fills what a transaction lacks from the node's answers: its nonce, gas
/// (with headroom for contract calls) and fees (checked against the bounds
/// of [`rpc::check_fee`]); fields already set are kept. The result is
/// checked with the signer's own rules.
pub fn fill_tx(tx: &mut Map<String, Value>, fill: &Fill) -> Result<()> {
    tx.entry("nonce").or_insert_with(|| json!(fill.nonce));
    let has_data = tx
        .get("data")
        .and_then(Value::as_str)
        .is_some_and(|d| d.len() > 2);
    tx.entry("gas").or_insert_with(|| {
        // Calls into contracts get 20% headroom: state can change between
        // estimate and inclusion. A plain transfer's 21000 is exact.
        let g = fill.gas_estimate.to::<u64>();
        json!(format!(
            "{:#x}",
            if has_data { g.saturating_mul(6) / 5 } else { g }
        ))
    });
    let has_fees = ["gasPrice", "maxFeePerGas", "maxPriorityFeePerGas"]
        .iter()
        .any(|k| tx.contains_key(*k));
    if !has_fees {
        match fill.base_fee {
            Some(base) => {
                let tip = fill.priority_fee.unwrap_or(U128_GWEI).to::<u128>();
                rpc::check_fee("base fee", base.to())?;
                rpc::check_fee("priority fee", tip)?;
                // 2x base fee: stays includable through six full blocks of +12.5%.
                let max = base.to::<u128>().saturating_mul(2).saturating_add(tip);
                tx.insert("maxFeePerGas".into(), json!(format!("{max:#x}")));
                tx.insert("maxPriorityFeePerGas".into(), json!(format!("{tip:#x}")));
            }
            None => {
                let p = fill.gas_price.ok_or_else(|| {
                    Error::Invalid("the node reported neither a base fee nor a gas price".into())
                })?;
                rpc::check_fee("gas price", p.to())?;
                tx.insert("gasPrice".into(), json!(p));
            }
        }
    }
    check_transaction(&Value::Object(tx.clone()))
}

const U128_GWEI: alloy_primitives::U128 = alloy_primitives::U128::from_limbs([1_000_000_000, 0]);

pub(crate) fn apply_edits(tx: &mut Map<String, Value>, e: &Edits) -> Result<()> {
    if let Some(g) = e.gas {
        if g.to::<u64>() < 21_000 {
            return Err(Error::Invalid("gas limit must be at least 21000".into()));
        }
        tx.insert("gas".into(), json!(g));
    }
    if let Some(n) = e.nonce {
        tx.insert("nonce".into(), json!(n));
    }
    if e.gas_price.is_some()
        && (e.max_fee_per_gas.is_some() || e.max_priority_fee_per_gas.is_some())
    {
        return Err(Error::Invalid(
            "set either gasPrice or maxFeePerGas/maxPriorityFeePerGas, not both".into(),
        ));
    }
    if let Some(p) = e.gas_price {
        tx.remove("maxFeePerGas");
        tx.remove("maxPriorityFeePerGas");
        tx.insert("gasPrice".into(), json!(p));
    }
    if let Some(m) = e.max_fee_per_gas {
        tx.remove("gasPrice");
        tx.insert("maxFeePerGas".into(), json!(m));
    }
    if let Some(m) = e.max_priority_fee_per_gas {
        tx.remove("gasPrice");
        tx.insert("maxPriorityFeePerGas".into(), json!(m));
    }
    Ok(())
}

/// Checks a complete transaction with the signer's own rules (types, fee fields).
pub(crate) fn check_transaction(tx: &Value) -> Result<()> {
    let req: tandem_eth::TransactionRequest = serde_json::from_value(tx.clone())
        .map_err(|e| Error::Invalid(format!("invalid transaction: {e}")))?;
    req.build().map_err(|e| Error::Invalid(e.to_string()))?;
    Ok(())
}

/// What the approval page shows for a transaction, with decoded ERC-20 calls
/// and warnings.
pub(crate) fn transaction_display(state: &State, tx: &Value) -> Value {
    // The chain the transaction is for, even if the user switched since.
    let chain = tx
        .get("chainId")
        .and_then(Value::as_str)
        .and_then(|c| c.strip_prefix("0x"))
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .map_or_else(
            || state.network().clone(),
            |c| {
                state
                    .networks
                    .iter()
                    .find(|n| n.chain_id == c)
                    .cloned()
                    .unwrap_or_else(|| display::unknown(c))
            },
        );
    let data = tx.get("data").and_then(Value::as_str).unwrap_or("0x");
    let mut warnings = Vec::new();
    // The spelling the window uses everywhere (EIP-55), so that no warning
    // reads as another one.
    let checksum = |a: &str| {
        let a = format!("0x{a}");
        a.parse::<Address>().map_or(a, |a| a.to_checksum(None))
    };
    // The calls the phone's policy covers warn here too, read by the same
    // decoder ([`crate::decode`]): the window and the phone show these.
    let call = match crate::decode::token_call(data) {
        Some(TokenCall::Transfer { to, amount }) => Some(("transfer", "to", to, amount)),
        Some(TokenCall::Approve { spender, amount }) => {
            Some(("approve", "spender", spender, amount))
        }
        Some(TokenCall::SetApprovalForAll {
            operator,
            approved: true,
        }) => {
            warnings.push(format!(
                "{} gets control over all your items in this collection",
                checksum(operator)
            ));
            None
        }
        _ => None,
    };
    let call = call.map_or(Value::Null, |(function, role, addr, amount)| {
        let addr = checksum(addr);
        if function == "approve" && crate::decode::is_unlimited_word(amount) {
            warnings.push(format!(
                "unlimited token approval: {addr} could move all of this token from your account"
            ));
        }
        let amount = U256::from_str_radix(amount, 16).unwrap_or_default();
        json!({"function": function, role: addr, "amount": amount})
    });
    if tx.get("to").is_none_or(Value::is_null) {
        warnings.push("this transaction deploys a new contract".to_owned());
    }
    let per_gas = ["maxFeePerGas", "gasPrice"]
        .iter()
        .filter_map(|k| rpc::quantity(tx.get(*k)?))
        .max();
    warnings.extend(per_gas.and_then(rpc::high_fee_warning));
    json!({
        "from": tx.get("from"),
        "to": tx.get("to"),
        "value": tx.get("value").cloned().unwrap_or(json!("0x0")),
        "data": data,
        "call": call,
        "chain": chain,
        "nonce": tx.get("nonce"),
        "gas": tx.get("gas"),
        "maxFeePerGas": tx.get("maxFeePerGas"),
        "maxPriorityFeePerGas": tx.get("maxPriorityFeePerGas"),
        "gasPrice": tx.get("gasPrice"),
        "warnings": warnings,
    })
}
