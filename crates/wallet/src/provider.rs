//! EIP-1193 request validation and dispatch.

use alloy_primitives::Address;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::{
    approval::transaction_display, display, network, Approval, ApprovalKind, Asset, Error, Result,
    Wallet,
};

/// Largest request accepted, in bytes of JSON.
pub const MAX_REQUEST_BYTES: usize = 512 * 1024;

/// Methods answered by the current network's node unchanged.
pub const READ_ONLY: &[&str] = &[
    "eth_blockNumber",
    "eth_call",
    "eth_estimateGas",
    "eth_feeHistory",
    "eth_gasPrice",
    "eth_getBalance",
    "eth_getBlockByHash",
    "eth_getBlockByNumber",
    "eth_getBlockTransactionCountByHash",
    "eth_getBlockTransactionCountByNumber",
    "eth_getCode",
    "eth_getFilterChanges",
    "eth_getFilterLogs",
    "eth_getLogs",
    "eth_getProof",
    "eth_getStorageAt",
    "eth_getTransactionByBlockHashAndIndex",
    "eth_getTransactionByBlockNumberAndIndex",
    "eth_getTransactionByHash",
    "eth_getTransactionCount",
    "eth_getTransactionReceipt",
    "eth_getUncleCountByBlockHash",
    "eth_getUncleCountByBlockNumber",
    "eth_maxPriorityFeePerGas",
    "eth_newBlockFilter",
    "eth_newFilter",
    "eth_sendRawTransaction",
    "eth_syncing",
    "eth_uninstallFilter",
    "net_listening",
    "web3_clientVersion",
];

/// What the worker does with a provider request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outcome {
    /// Answer now.
    Result {
        /// JSON-RPC result.
        result: Value,
        /// State changed (e.g. a revoke): broadcast to pages.
        changed: bool,
    },
    /// Forward to the current network's RPC URL.
    Rpc {
        /// RPC endpoint.
        url: String,
        /// Method.
        method: String,
        /// Params.
        params: Value,
    },
    /// Queued for the user; open `approval.html?id=`.
    Approval {
        /// Approval id.
        id: u64,
        /// Kind.
        kind: ApprovalKind,
        /// What to fetch from the node first: a transaction's fields (`from`,
        /// tx object), or `{ chainIdOf: url }`, the RPC of a network to add,
        /// to ask `eth_chainId`.
        fill: Option<Value>,
    },
    /// EIP-5792's methods: the worker's extra module answers them
    /// ([`crate::calls::request`]); it queues a checked bundle with
    /// [`Wallet::queue_calls`] on its copy of the wallet, and the worker
    /// loads the core from the session half that comes back.
    Extra,
    /// JSON-RPC error.
    Error {
        /// `{ code, message }`.
        error: Value,
    },
}

impl From<Error> for Outcome {
    fn from(e: Error) -> Self {
        Self::Error { error: e.to_rpc() }
    }
}

/// A parsed request.
struct Req<'a> {
    method: &'a str,
    params: &'a [Value],
    raw_params: &'a Value,
}

fn parse_request(req: &Value) -> Result<Req<'_>> {
    let obj = req
        .as_object()
        .ok_or_else(|| Error::InvalidRequest("a request is an object { method, params }".into()))?;
    let method = obj
        .get("method")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::InvalidRequest("method must be a string".into()))?;
    if method.is_empty()
        || method.len() > 64
        || !method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(Error::InvalidRequest(
            "method must be a JSON-RPC method name".into(),
        ));
    }
    static EMPTY: Value = Value::Null;
    let raw_params = obj.get("params").unwrap_or(&EMPTY);
    let params: &[Value] = match raw_params {
        Value::Null => &[],
        Value::Array(a) => a,
        Value::Object(_) => core::slice::from_ref(raw_params),
        _ => return Err(Error::params("params must be an array or an object")),
    };
    Ok(Req {
        method,
        params,
        raw_params,
    })
}

/// `personal_sign`'s parameters as `(message, address)`. The standard order
/// is `[message, address]`, but many dapps send `[address, message]` (and
/// MetaMask accepts it): they are swapped when only the first is an address.
fn personal_sign_order<'a>(first: &'a Value, second: &'a Value) -> (&'a Value, &'a Value) {
    let is_address = |v: &Value| parse_address(v, "").is_ok();
    if is_address(first) && !is_address(second) {
        (second, first)
    } else {
        (first, second)
    }
}

/// What `eth_signTypedData_v3` cannot express, refused rather than hashed
/// as version 4 would: arrays (version 3 has none; for everything else the
/// two versions hash alike, see MetaMask's eth-sig-util `TypedDataUtils`)
/// and `null` values (version 3 fails on them where version 4 hashes zero).
fn check_v3(parsed: &Value) -> Result<()> {
    let refuse = |why: String| {
        Err(Error::params(format!(
            "{why}, which eth_signTypedData_v3 cannot sign; the site should use eth_signTypedData_v4"
        )))
    };
    if let Some(types) = parsed.get("types").and_then(Value::as_object) {
        for (name, fields) in types {
            for f in fields.as_array().into_iter().flatten() {
                let ty = f.get("type").and_then(Value::as_str).unwrap_or_default();
                if ty.ends_with(']') {
                    let field = f.get("name").and_then(Value::as_str).unwrap_or_default();
                    return refuse(format!(
                        "the field `{field}` of `{name}` is an array ({ty})"
                    ));
                }
            }
        }
    }
    fn has_null(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Array(a) => a.iter().any(has_null),
            Value::Object(o) => o.values().any(has_null),
            _ => false,
        }
    }
    if parsed.get("message").is_some_and(has_null) || parsed.get("domain").is_some_and(has_null) {
        return refuse("the message holds a null value".to_owned());
    }
    Ok(())
}

fn parse_address(v: &Value, what: &str) -> Result<Address> {
    let s = v
        .as_str()
        .ok_or_else(|| Error::params(format!("{what} must be a 0x-prefixed address")))?;
    let h = s
        .strip_prefix("0x")
        .ok_or_else(|| Error::params(format!("{what} must be a 0x-prefixed address")))?;
    let mut b = [0u8; 20];
    if h.len() != 40 || alloy_primitives::hex::decode_to_slice(h, &mut b).is_err() {
        return Err(Error::params(format!("{what} must be 20 bytes of hex")));
    }
    Ok(Address::from(b))
}

/// The origin of the wallet's own Send screen: its transactions go through
/// the same approval as a site's. No page has it (browsers report pages as
/// http(s), file or "null"), and the worker passes it only for its own pages.
pub const WALLET_ORIGIN: &str = "tandem:wallet";

/// Checks an origin the browser reported: scheme and host, nothing else.
pub fn check_origin(origin: &str) -> Result<()> {
    if origin == "null" {
        // An opaque origin: a sandboxed frame (or a data: document). It
        // gets nothing, in particular not the embedding site's connection.
        return Err(Error::Unauthorized(
            "a sandboxed frame has no origin of its own; Tandem does not serve it".into(),
        ));
    }
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let ok = origin.len() <= 512
        && host.is_some_and(|h| !h.is_empty() && !h.contains(['/', '?', '#', '@']))
        && !origin.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::Unauthorized(
            "Tandem only serves web pages over http(s)".into(),
        ))
    }
}

impl Wallet {
    /// Handles one EIP-1193 request from `origin` (as the browser reported it).
    /// `unlocked` is whether the keyring is open; `reply_to` is stored with any
    /// approval so the answer can be delivered after a worker restart.
    pub fn request(
        &mut self,
        origin: &str,
        request: &Value,
        unlocked: bool,
        reply_to: Value,
        now: u64,
    ) -> Outcome {
        match self.dispatch(origin, request, unlocked, reply_to, now) {
            Ok(o) => o,
            Err(e) => e.into(),
        }
    }

    /// Queues a `wallet_sendCalls` bundle [`crate::calls::request`] checked
    /// (its approval's request and display) for `origin`'s user. Called in
    /// the extra module (crates/wasm-extra), never by the core module.
    pub fn queue_calls(
        &mut self,
        origin: &str,
        request: Value,
        display: Value,
        reply_to: Value,
        now: u64,
    ) -> Outcome {
        let a = Approval {
            id: 0,
            origin: origin.to_owned(),
            kind: ApprovalKind::Calls,
            request,
            display,
            created_at: now,
            reply_to,
            needs_fill: false,
            phone: None,
        };
        match self.session.enqueue(a) {
            Ok(id) => Outcome::Approval {
                id,
                kind: ApprovalKind::Calls,
                fill: None,
            },
            Err(e) => e.into(),
        }
    }

    fn dispatch(
        &mut self,
        origin: &str,
        request: &Value,
        unlocked: bool,
        reply_to: Value,
        now: u64,
    ) -> Result<Outcome> {
        let own = origin == WALLET_ORIGIN;
        if !own {
            check_origin(origin)?;
        }
        let r = parse_request(request)?;
        if own && r.method != "eth_sendTransaction" {
            return Err(Error::Unsupported(r.method.to_owned()));
        }
        let done = |result: Value| {
            Ok(Outcome::Result {
                result,
                changed: false,
            })
        };
        let net = self.state.network().clone();
        if READ_ONLY.contains(&r.method) {
            return Ok(Outcome::Rpc {
                url: net.rpc_url.clone(),
                method: r.method.to_owned(),
                params: if r.raw_params.is_null() {
                    json!([])
                } else {
                    r.raw_params.clone()
                },
            });
        }
        macro_rules! queue {
            ($kind:expr, $req:expr, $display:expr, $fill:expr) => {
                self.session.enqueue(Approval {
                    id: 0,
                    origin: origin.to_owned(),
                    kind: $kind,
                    request: $req,
                    display: $display,
                    created_at: now,
                    reply_to: reply_to.clone(),
                    needs_fill: $fill,
                    phone: None,
                })
            };
        }
        match r.method {
            "eth_chainId" => done(json!(net.chain_id_hex())),
            "net_version" => done(json!(net.chain_id.to_string())),
            "eth_accounts" => {
                if unlocked {
                    done(json!(self.state.permitted(origin)))
                } else {
                    done(json!([]))
                }
            }
            "eth_coinbase" => done(if unlocked {
                json!(self.state.permitted(origin).first())
            } else {
                Value::Null
            }),
            "eth_requestAccounts" | "wallet_requestPermissions" => {
                let perms = r.method == "wallet_requestPermissions";
                if perms {
                    let p = r.params.first().and_then(Value::as_object).ok_or_else(|| {
                        Error::params("wallet_requestPermissions takes [{ eth_accounts: {} }]")
                    })?;
                    if p.is_empty() || p.keys().any(|k| k != "eth_accounts") {
                        return Err(Error::params(
                            "Tandem grants only the eth_accounts permission",
                        ));
                    }
                }
                if self.state.accounts.is_empty() {
                    return Err(Error::Disconnected(
                        "Tandem is not set up yet; open it to create or import a wallet".into(),
                    ));
                }
                let permitted = self.state.permitted(origin);
                if unlocked && !permitted.is_empty() && !perms {
                    return done(json!(permitted));
                }
                let display = json!({
                    "origin": origin,
                    "accounts": self.state.accounts,
                    "selected": self.state.selected,
                    "alreadyPermitted": permitted,
                });
                let id = queue!(
                    ApprovalKind::Connect,
                    json!({ "method": r.method }),
                    display,
                    false
                )?;
                Ok(Outcome::Approval {
                    id,
                    kind: ApprovalKind::Connect,
                    fill: None,
                })
            }
            "wallet_getPermissions" => {
                let mut p = self.state.permissions(origin);
                if !unlocked {
                    // As eth_accounts: which addresses a site holds is not
                    // told while the wallet is locked.
                    for caveat in p
                        .as_array_mut()
                        .into_iter()
                        .flatten()
                        .filter_map(|perm| perm.get_mut("caveats")?.as_array_mut())
                        .flatten()
                    {
                        caveat["value"] = json!([]);
                    }
                }
                done(p)
            }
            "wallet_revokePermissions" => {
                let p = r.params.first().and_then(Value::as_object).ok_or_else(|| {
                    Error::params("wallet_revokePermissions takes [{ eth_accounts: {} }]")
                })?;
                if !p.contains_key("eth_accounts") {
                    return Err(Error::params("only eth_accounts can be revoked"));
                }
                let changed = self.state.revoke(origin);
                Ok(Outcome::Result {
                    result: Value::Null,
                    changed,
                })
            }
            "personal_sign" => {
                let (msg, addr) = match r.params {
                    [m, a, ..] => personal_sign_order(m, a),
                    _ => return Err(Error::params("personal_sign takes [message, address]")),
                };
                let message = msg.as_str().ok_or_else(|| {
                    Error::params("the message must be a string (0x hex or text)")
                })?;
                let address = self.authorized(origin, addr)?;
                let bytes = tandem_eth::eip191::message_bytes(message);
                let text = tandem_eth::eip191::message_text(&bytes);
                let display = json!({
                    "address": address,
                    "text": text,
                    "hex": format!("0x{}", alloy_primitives::hex::encode(&bytes)),
                    "chain": net,
                });
                let req = json!({ "method": r.method, "address": address, "message": message });
                let id = queue!(ApprovalKind::PersonalSign, req, display, false)?;
                Ok(Outcome::Approval {
                    id,
                    kind: ApprovalKind::PersonalSign,
                    fill: None,
                })
            }
            "eth_signTypedData_v4" | "eth_signTypedData_v3" => {
                let (addr, data) = match r.params {
                    [a, d, ..] => (a, d),
                    _ => {
                        return Err(Error::params(format!(
                            "{} takes [address, typedData]",
                            r.method
                        )))
                    }
                };
                let address = self.authorized(origin, addr)?;
                let json_text = match data {
                    Value::String(s) => s.clone(),
                    Value::Object(_) => data.to_string(),
                    _ => {
                        return Err(Error::params(
                            "typed data must be a JSON object or a string of one",
                        ))
                    }
                };
                let typed = tandem_eth::eip712::parse(&json_text)
                    .map_err(|e| Error::params(e.to_string()))?;
                let hash = tandem_eth::eip712::signing_hash(&typed)
                    .map_err(|e| Error::params(e.to_string()))?;
                let parsed: Value =
                    serde_json::from_str(&json_text).map_err(|e| Error::params(e.to_string()))?;
                if r.method == "eth_signTypedData_v3" {
                    check_v3(&parsed)?;
                }
                let domain = parsed.get("domain").cloned().unwrap_or(Value::Null);
                if let Some(c) = typed.domain.chain_id {
                    let c: u64 = c.try_into().unwrap_or(u64::MAX);
                    if c != net.chain_id {
                        return Err(Error::params(format!(
                            "the typed data is for chain {c} but Tandem is on chain {}; switch networks first",
                            net.chain_id
                        )));
                    }
                }
                let mut warnings = Vec::new();
                if crate::decode::is_permit(&typed.primary_type) {
                    warnings.push("this signature is a token permit: it lets the spender move your tokens without a transaction".to_owned());
                }
                let display = json!({
                    "address": address,
                    "domain": domain,
                    "primaryType": typed.primary_type,
                    "message": parsed.get("message"),
                    "hash": hash,
                    "warnings": warnings,
                    "chain": net,
                });
                let req = json!({ "method": r.method, "address": address, "typedData": json_text });
                let id = queue!(ApprovalKind::TypedData, req, display, false)?;
                Ok(Outcome::Approval {
                    id,
                    kind: ApprovalKind::TypedData,
                    fill: None,
                })
            }
            "eth_sendTransaction" => {
                let tx = r
                    .params
                    .first()
                    .and_then(Value::as_object)
                    .ok_or_else(|| Error::params("eth_sendTransaction takes [transaction]"))?;
                let from = match tx.get("from") {
                    Some(f) => self.authorized(origin, f)?,
                    None => *self.state.permitted(origin).first().ok_or_else(|| {
                        Error::Unauthorized(
                            "connect an account to this site first (eth_requestAccounts)".into(),
                        )
                    })?,
                };
                let chain_id = net.chain_id;
                let clean = normalize_tx(tx, from, chain_id)?;
                let display = transaction_display(&self.state, &Value::Object(clean.clone()));
                let fill = json!({
                    "from": from,
                    "transaction": clean,
                    "needNonce": !clean.contains_key("nonce"),
                    "needGas": !clean.contains_key("gas"),
                    "needFees": !["gasPrice", "maxFeePerGas", "maxPriorityFeePerGas"].iter().any(|k| clean.contains_key(*k)),
                    "url": net.rpc_url,
                });
                let req = json!({ "method": r.method, "address": from, "transaction": clean });
                let id = queue!(ApprovalKind::Transaction, req, display, true)?;
                Ok(Outcome::Approval {
                    id,
                    kind: ApprovalKind::Transaction,
                    fill: Some(fill),
                })
            }
            "wallet_switchEthereumChain" => {
                let p = r.params.first().and_then(Value::as_object).ok_or_else(|| {
                    Error::params("wallet_switchEthereumChain takes [{ chainId }]")
                })?;
                let id = network::parse_chain_id(p.get("chainId").unwrap_or(&Value::Null))?;
                if id == net.chain_id {
                    return done(Value::Null);
                }
                let target = self
                    .state
                    .networks
                    .iter()
                    .find(|n| n.chain_id == id)
                    .ok_or_else(|| Error::UnknownChain(format!("{id:#x}")))?;
                let display = json!({ "from": net, "to": target });
                let req = json!({ "method": r.method, "chainId": id });
                let aid = queue!(ApprovalKind::SwitchChain, req, display, false)?;
                Ok(Outcome::Approval {
                    id: aid,
                    kind: ApprovalKind::SwitchChain,
                    fill: None,
                })
            }
            "wallet_addEthereumChain" => {
                let p = r.params.first().ok_or_else(|| {
                    Error::params("wallet_addEthereumChain takes [chainParameters]")
                })?;
                let n = network::from_eip3085(p)?;
                if n.chain_id == net.chain_id {
                    return done(Value::Null);
                }
                let existing = self
                    .state
                    .networks
                    .iter()
                    .find(|x| x.chain_id == n.chain_id);
                let n = display::merge(existing, &n);
                let display = json!({ "network": n, "alreadyKnown": existing });
                let req = json!({ "method": r.method, "network": n });
                let url = n.rpc_url.clone();
                // Waits for the node's eth_chainId ([`Wallet::chain_checked`]).
                let id = queue!(ApprovalKind::AddChain, req, display, true)?;
                Ok(Outcome::Approval {
                    id,
                    kind: ApprovalKind::AddChain,
                    fill: Some(json!({ "chainIdOf": url })),
                })
            }
            "wallet_getCapabilities" | "wallet_getCallsStatus" | "wallet_sendCalls" => {
                Ok(Outcome::Extra)
            }
            "wallet_watchAsset" => {
                let p =
                    r.params.first().and_then(Value::as_object).ok_or_else(|| {
                        Error::params("wallet_watchAsset takes { type, options }")
                    })?;
                if p.get("type").and_then(Value::as_str) != Some("ERC20") {
                    return Err(Error::params("only ERC20 assets can be watched"));
                }
                let o = p.get("options").and_then(Value::as_object).ok_or_else(|| {
                    Error::params("options { address, symbol, decimals } are required")
                })?;
                let address =
                    parse_address(o.get("address").unwrap_or(&Value::Null), "options.address")?;
                let symbol = o
                    .get("symbol")
                    .and_then(Value::as_str)
                    .filter(|s| {
                        (1..=11).contains(&s.chars().count())
                            && s.chars().all(|c| {
                                c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_'
                            })
                    })
                    .ok_or_else(|| {
                        Error::params("options.symbol must be 1 to 11 letters or digits")
                    })?;
                let decimals = o
                    .get("decimals")
                    .and_then(Value::as_u64)
                    .filter(|d| *d <= 36)
                    .ok_or_else(|| Error::params("options.decimals must be a number 0..=36"))?;
                let asset = Asset {
                    chain_id: net.chain_id,
                    address,
                    symbol: symbol.to_owned(),
                    decimals: decimals as u8,
                };
                let display = json!({ "asset": asset, "network": net.name });
                let req = json!({ "method": r.method, "asset": asset });
                let id = queue!(ApprovalKind::WatchAsset, req, display, false)?;
                Ok(Outcome::Approval {
                    id,
                    kind: ApprovalKind::WatchAsset,
                    fill: None,
                })
            }
            "eth_sign" => Err(Error::Refused(
                "eth_sign is not supported: it signs a bare hash that the wallet cannot show you \
                 (a common way to steal funds); the site should use personal_sign or \
                 eth_signTypedData_v4"
                    .to_owned(),
            )),
            "eth_signTypedData" | "eth_signTypedData_v1" => Err(Error::Refused(format!(
                "{} (version 1) is not supported: its format does not say which site or \
                 contract a signature is for; the site should use eth_signTypedData_v4",
                r.method
            ))),
            "eth_signTransaction" | "eth_decrypt" | "eth_getEncryptionPublicKey" => {
                Err(Error::Unsupported(r.method.to_owned()))
            }
            other => Err(Error::Unsupported(other.to_owned())),
        }
    }

    /// The address in `v`, if `origin` may use it.
    pub(crate) fn authorized(&self, origin: &str, v: &Value) -> Result<Address> {
        let a = parse_address(v, "the address")?;
        let own = origin == WALLET_ORIGIN && self.state.accounts.iter().any(|x| x.address == a);
        if own || self.state.permitted(origin).contains(&a) {
            Ok(a)
        } else {
            Err(Error::Unauthorized(format!(
                "this site is not connected to {a}; request accounts first"
            )))
        }
    }
}

/// Keeps the fields a transaction may have, checks them, sets `from` and `chainId`.
pub(crate) fn normalize_tx(
    tx: &Map<String, Value>,
    from: Address,
    chain_id: u64,
) -> Result<Map<String, Value>> {
    const FIELDS: [&str; 11] = [
        "to",
        "value",
        "data",
        "input",
        "nonce",
        "gas",
        "gasLimit",
        "gasPrice",
        "maxFeePerGas",
        "maxPriorityFeePerGas",
        "accessList",
    ];
    let mut out = Map::new();
    for k in FIELDS {
        match tx.get(k) {
            None | Some(Value::Null) => {}
            Some(v) => {
                let key = match k {
                    "gasLimit" => "gas",
                    "input" => "data",
                    _ => k,
                };
                if let Some(prev) = out.get(key) {
                    if prev != v {
                        return Err(Error::params(format!("{k} conflicts with {key}")));
                    }
                }
                out.insert(key.to_owned(), v.clone());
            }
        }
    }
    if let Some(t) = tx.get("type").filter(|t| !t.is_null()) {
        let ty = t
            .as_str()
            .and_then(|s| s.strip_prefix("0x"))
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match ty {
            Some(0..=2) => {
                out.insert("type".into(), t.clone());
            }
            _ => return Err(Error::params("type must be 0x0, 0x1 or 0x2")),
        }
    }
    if let Some(c) = tx.get("chainId").filter(|c| !c.is_null()) {
        let ok = c
            .as_str()
            .and_then(|s| s.strip_prefix("0x"))
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            == Some(chain_id);
        if !ok {
            return Err(Error::params(format!(
                "the transaction's chainId {c} is not the current chain {chain_id:#x}; switch networks first"
            )));
        }
    }
    if let Some(to) = out.get("to") {
        parse_address(to, "to")?;
    }
    out.insert("from".into(), json!(from));
    out.insert("chainId".into(), json!(format!("{chain_id:#x}")));
    // The signer's own parser checks every quantity's hex and size.
    let _: tandem_eth::TransactionRequest = serde_json::from_value(Value::Object(out.clone()))
        .map_err(|e| Error::params(format!("transaction: {e}")))?;
    Ok(out)
}
