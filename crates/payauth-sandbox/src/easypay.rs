//! The EasyPay emulator: EasyPay REST under `/APIcardProcREST/v1.0.0/`: Authenticate with the
//! lockout rule, 25 h sessions bound to the caller's IP, the HMAC-secured SessKey header,
//! CardSale/Manual and CardSale/Void.
//!
//! Error codes EasyPay documents (5030, 5050, 6724) are used as documented; the sandbox's own
//! codes for cases EasyPay does not document are 5040 (bad secured header), 5090 (IP locked),
//! 7001 (card number does not decrypt) and 7002 (Luhn check failed).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit as _, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::easypay_card::CardKey;
use crate::http::{Request, Response};
use crate::state::Shared;

const PREFIX: &str = "/APIcardProcREST/v1.0.0/";
const SESSION_LIFETIME: Duration = Duration::from_secs(25 * 3600);
/// Consecutive failed authentications that lock an IP, as EasyPay does.
pub const LOCKOUT_AFTER: u32 = 6;
/// How far the secured header's epoch may be from the sandbox clock.
const EPOCH_WINDOW: Duration = Duration::from_secs(300);

/// The default account (from EasyPay's documentation examples).
pub const DEFAULT_EASYPAY_ACCOUNT: (&str, &str) = ("EP9116875", "2148B239CF6846BDA5D141BF4A4CFBE8");
/// An account configured as PCI: its calls must carry the HMAC-secured header.
pub const PCI_EASYPAY_ACCOUNT: (&str, &str) = ("EP9990001", "7A1E3C5B9D2F4A6C8E0B1D3F5A7C9E1B");
/// The PCI account's HMAC secret and user id (the secret is the vendor's published test secret).
pub const PCI_EASYPAY_SIGNER: (&str, &str) = ("7D55DBB3D691C9E0FDF341E4AB38C3C9", "2547");

struct Account {
    code: String,
    token: String,
    user_id: i64,
    /// HMAC secret for accounts that must send the secured header.
    pci_secret: Option<String>,
}

struct Session {
    account: usize,
    ip: String,
    expires_at: SystemTime,
}

#[derive(Default)]
struct State {
    failures: HashMap<String, u32>,
    locked: HashSet<String>,
    sessions: HashMap<String, Session>,
    ip_generation: u32,
    transactions: HashMap<i64, bool>,
    next_tx: i64,
}

/// The EasyPay emulator's settings and its control surface.
pub struct EasyPayEmulator {
    accounts: Vec<Account>,
    state: Mutex<State>,
}

impl Default for EasyPayEmulator {
    fn default() -> Self {
        EasyPayEmulator {
            accounts: vec![
                Account {
                    code: DEFAULT_EASYPAY_ACCOUNT.0.into(),
                    token: DEFAULT_EASYPAY_ACCOUNT.1.into(),
                    user_id: 2547,
                    pci_secret: None,
                },
                Account {
                    code: PCI_EASYPAY_ACCOUNT.0.into(),
                    token: PCI_EASYPAY_ACCOUNT.1.into(),
                    user_id: 2547,
                    pci_secret: Some(PCI_EASYPAY_SIGNER.0.into()),
                },
            ],
            state: Mutex::new(State {
                next_tx: 1000,
                ..State::default()
            }),
        }
    }
}

impl EasyPayEmulator {
    /// Consecutive failed authentications from the client's current IP.
    pub fn failure_count(&self) -> u32 {
        let state = self.lock();
        let ip = ip_identity("127.0.0.1", state.ip_generation);
        state.failures.get(&ip).copied().unwrap_or(0)
    }

    /// Whether the client's current IP is locked out (six failures in a row).
    pub fn is_ip_locked(&self) -> bool {
        let state = self.lock();
        state
            .locked
            .contains(&ip_identity("127.0.0.1", state.ip_generation))
    }

    /// What EasyPay's support team does after an audit: unlocks every IP and clears the counts.
    pub fn unlock_ips(&self) {
        let mut state = self.lock();
        state.locked.clear();
        state.failures.clear();
    }

    /// Makes the client appear to come from a new IP address: its sessions stop working (5050).
    pub fn change_client_ip(&self) {
        self.lock().ip_generation += 1;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn arrived(&self, request: &Request, path: &str, shared: &Shared) {
        if request.method == "POST" && path == "/APIcardProcREST/v1.0.0/Authenticate" {
            shared.counters.token_request();
        }
    }

    pub(crate) fn route(&self, request: &Request, path: &str, shared: &Shared) -> Option<Response> {
        let operation = path.strip_prefix(PREFIX)?;
        if request.method != "POST" {
            return Some(Response::raw(405, "text/plain", "Method Not Allowed"));
        }
        // EasyPay answers a malformed request with this plain text.
        let Ok(body @ Value::Object(_)) = serde_json::from_slice::<Value>(&request.body) else {
            return Some(Response::raw(400, "text/plain", "Bad Request"));
        };
        let ip = {
            let state = self.lock();
            ip_identity(&request.peer.to_string(), state.ip_generation)
        };
        Some(match operation {
            "Authenticate" => self.authenticate(&body, &ip, shared),
            "CardSale/Manual" => {
                self.with_session(request, &ip, shared, "CreditCardSale_ManualResult", |s| {
                    s.card_sale(&body)
                })
            }
            "CardSale/Void" => {
                self.with_session(request, &ip, shared, "Transaction_VoidResult", |s| {
                    s.void(&body)
                })
            }
            _ => Response::raw(404, "text/plain", "Not Found"),
        })
    }

    fn authenticate(&self, body: &Value, ip: &str, shared: &Shared) -> Response {
        let wrap = |result: Value| Response::json(200, &json!({ "AuthenticateResult": result }));
        let (Some(code), Some(token)) = (body["AcctCode"].as_str(), body["Token"].as_str()) else {
            return Response::raw(400, "text/plain", "Bad Request");
        };
        let mut state = self.lock();
        if state.locked.contains(ip) {
            shared.counters.auth(false);
            return wrap(failure(
                5090,
                "ERROR:5090:HIGH:This IP address is locked out; contact support",
            ));
        }
        let account = self
            .accounts
            .iter()
            .position(|a| a.code == code && a.token.eq_ignore_ascii_case(token));
        let Some(index) = account else {
            shared.counters.auth(false);
            let failures = state.failures.entry(ip.to_owned()).or_default();
            *failures += 1;
            if *failures >= LOCKOUT_AFTER {
                state.locked.insert(ip.to_owned());
            }
            return wrap(json!({
                "AuthSuccess": false, "FunctionOk": true, "ErrCode": 0, "ErrMsg": "",
                "RespMsg": "Invalid AcctCode or Token",
            }));
        };
        state.failures.remove(ip);
        let key = session_key();
        let expires_at = shared.clock.now() + SESSION_LIFETIME;
        state.sessions.insert(
            key.clone(),
            Session {
                account: index,
                ip: ip.to_owned(),
                expires_at,
            },
        );
        drop(state);
        shared.counters.auth(true);
        shared.counters.session_created();
        let account = &self.accounts[index];
        wrap(json!({
            "AuthSuccess": true, "FunctionOk": true, "ErrCode": 0, "ErrMsg": "",
            "RespMsg": format!("SessKey Expires|{}", unix_secs(expires_at)),
            "SessKey": key,
            "MerchantList": [
                {"ID": 1, "Descrip": "Sandbox Merchant 1", "TermID": "006", "Address": "1 Sandbox Way", "Location": "Sandbox"},
                {"ID": 2, "Descrip": "Sandbox Merchant 2", "TermID": "007", "Address": "2 Sandbox Way", "Location": "Sandbox"}
            ],
            "ThisUser": {
                "ID": account.user_id, "AcctID": 205, "AccountCode": account.code,
                "IsLockedOut": false, "IsExpired": false,
                "ExpirationDate": format!("/Date({}-0500)/", unix_secs(shared.clock.now() + Duration::from_secs(730 * 86_400)) * 1000),
            },
        }))
    }

    /// Checks the `SessKey` header (plain, or secured for PCI accounts) and the session's life and
    /// IP, then runs `operation`.
    fn with_session(
        &self,
        request: &Request,
        ip: &str,
        shared: &Shared,
        result_name: &str,
        operation: impl FnOnce(&Self) -> Value,
    ) -> Response {
        let wrap = |result: Value| Response::json(200, &json!({ result_name: result }));
        let header = request.header("SessKey").unwrap_or_default();
        let key = header.split('_').next().unwrap_or_default();
        let state = self.lock();
        let Some(session) = state.sessions.get(key) else {
            return wrap(failure(
                5030,
                "ERROR:5030:HIGH:Session expired or unknown; authenticate again",
            ));
        };
        if shared.clock.now() >= session.expires_at {
            return wrap(failure(
                5030,
                "ERROR:5030:HIGH:Session expired; authenticate again",
            ));
        }
        if session.ip != ip {
            return wrap(failure(
                5050,
                "ERROR:5050:HIGH:Unauthorized: the IP address changed since authentication",
            ));
        }
        let account = &self.accounts[session.account];
        if let Some(secret) = &account.pci_secret
            && !secured_header_valid(header, secret, account.user_id, shared.clock.now())
        {
            return wrap(failure(
                5040,
                "ERROR:5040:HIGH:Invalid secured SessKey header",
            ));
        }
        drop(state);
        wrap(operation(self))
    }

    /// Approves unless the cents of `TotalAmt` are 01 (then declines), so tests choose the outcome.
    fn card_sale(&self, body: &Value) -> Value {
        let card = &body["ccCardInfo"];
        let Some(encrypted) = card["AccountNumber"].as_str() else {
            return failure(7123, "ERROR:7123:HIGH:AccountNumber is required");
        };
        let Some(key) = card_key() else {
            return failure(7001, "ERROR:7001:HIGH:Sandbox card key unavailable");
        };
        let Ok(pan) = key.decrypt_account_number(encrypted) else {
            return failure(
                7001,
                "ERROR:7001:HIGH:AccountNumber does not decrypt with the current certificate",
            );
        };
        if !luhn(pan.as_bytes()) {
            return failure(7002, "ERROR:7002:HIGH:Card number fails the Luhn check");
        }
        let amounts = if body["Amounts"].is_object() {
            &body["Amounts"]
        } else {
            &body["AmountsFull"]
        };
        let total_cents = (amounts["TotalAmt"].as_f64().unwrap_or(0.0) * 100.0).round() as i64;
        let approved = total_cents % 100 != 1;
        let mut state = self.lock();
        state.next_tx += 1;
        let tx = state.next_tx;
        state.transactions.insert(tx, approved);
        json!({
            "FunctionOk": true, "ErrCode": 0, "ErrMsg": "",
            "TxApproved": approved, "TxID": tx,
            "TxnCode": if approved { json!(tx * 7 % 100_000) } else { json!("") },
            "RespMsg": if approved { format!("APPROVED {:06}                 ", tx * 7 % 1_000_000) } else { "DECLINED".to_owned() },
            "AVSresult": "Y", "CVVresult": "M", "IsPartialApproval": false, "RequiresVoiceAuth": false,
            "ResponseApprovedAmount": -1, "ResponseAuthorizedAmount": -1, "ResponseBalanceAmount": -1,
            "AcquirerResponseEMV": null,
        })
    }

    fn void(&self, body: &Value) -> Value {
        let tx = body["TxID"].as_i64().unwrap_or(-1);
        let mut state = self.lock();
        match state.transactions.remove(&tx) {
            Some(true) => json!({
                "FunctionOk": true, "ErrCode": 0, "ErrMsg": "", "TxApproved": true, "TxID": tx,
                "RespMsg": format!("Successful Transaction Void TxID : {tx} [097706]"),
            }),
            _ => failure(
                6724,
                &format!("ERROR:6724:HIGH:Could NOT retrieve transaction details for TXID {tx}"),
            ),
        }
    }
}

fn failure(code: i64, message: &str) -> Value {
    json!({ "FunctionOk": false, "ErrCode": code, "ErrMsg": message, "RespMsg": "" })
}

fn ip_identity(peer: &str, generation: u32) -> String {
    format!("{peer}#{generation}")
}

fn session_key() -> String {
    let mut bytes = [0u8; 21];
    crate::random::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn unix_secs(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `SessKey_epoch_id_HASH` with the HMAC of the first three parts, the account's user id, and an
/// epoch within five minutes of the sandbox clock.
fn secured_header_valid(header: &str, secret: &str, user_id: i64, now: SystemTime) -> bool {
    let parts: Vec<&str> = header.split('_').collect();
    let [key, epoch, id, hash] = parts.as_slice() else {
        return false;
    };
    let Ok(epoch) = epoch.parse::<u64>() else {
        return false;
    };
    let at = UNIX_EPOCH + Duration::from_secs(epoch);
    let skew = now.duration_since(at).unwrap_or_else(|e| e.duration());
    if skew > EPOCH_WINDOW || *id != user_id.to_string() {
        return false;
    }
    let Ok(expected) = hex_decode(hash) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(format!("{key}_{epoch}_{id}").as_bytes());
    // Uppercase only, as EasyPay emits it.
    hash.bytes().all(|b| !b.is_ascii_lowercase()) && mac.verify_slice(&expected).is_ok()
}

fn hex_decode(text: &str) -> Result<Vec<u8>, ()> {
    if !text.len().is_multiple_of(2) {
        return Err(());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2).ok_or(())?, 16).map_err(|_| ()))
        .collect()
}

fn card_key() -> Option<&'static CardKey> {
    static KEY: OnceLock<Option<CardKey>> = OnceLock::new();
    KEY.get_or_init(|| CardKey::bundled().ok()).as_ref()
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
