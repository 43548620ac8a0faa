//! Receive: the selected account's address, in full with its EIP-55
//! checksum, as a QR code a phone camera reads, and a copy button.

use crate::format::checksum_address;
use crate::view::{back_bar, el, notice_box, Action, El, Ui};

/// The Receive screen.
pub fn receive_screen(ui: &Ui) -> El {
    let st = ui.state.clone().unwrap_or_default();
    let net = st.current_network();
    let Some(acct) = st.current_account() else {
        return el("div")
            .class("stack screen")
            .tid("receive-screen")
            .child(back_bar("Receive"))
            .child(el("p").class("muted").text("No account is selected."));
    };
    let address = checksum_address(&acct.address);
    el("div")
        .class("stack screen")
        .tid("receive-screen")
        .child(back_bar("Receive"))
        .child(el("p").class("muted").text(format!(
            "Send only {} and tokens on {} to this address of {}.",
            net.symbol, net.name, acct.name
        )))
        .maybe(
            crate::qr::svg(&address, &format!("QR code of the address {address}"))
                .map(|q| el("div").class("qr-box center").tid("receive-qr").child(q)),
        )
        .child(
            el("p")
                .class("mono wrap")
                .tid("receive-address")
                .text(address.clone()),
        )
        .child(
            el("button")
                .attr("type", "button")
                .class("btn primary")
                .tid("receive-copy")
                .on(Action::CopyAddress)
                .text("Copy address"),
        )
        .maybe(notice_box(ui))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn shows_the_selected_address_checksummed_with_its_qr() {
        let mut ui = Ui::new(crate::view::Page::Popup);
        ui.state = Some(
            serde_json::from_value(json!({
                "initialized": true, "unlocked": true,
                "accounts": [{"address": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "name": "Account 2"}],
                "selected": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                "network": {"chainId": 31337, "name": "Localhost", "rpcUrl": "http://127.0.0.1:8545", "symbol": "ETH"},
                "networks": [], "sites": [], "settings": {"autoLockMinutes": 15, "ownWindowEthereum": false}
            }))
            .unwrap(),
        );
        let v = receive_screen(&ui);
        assert_eq!(
            v.find("receive-address").unwrap().text_content(),
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        );
        assert!(v.find("receive-qr").is_some());
        assert_eq!(
            v.find("receive-copy").unwrap().text_content(),
            "Copy address"
        );
    }
}
