//! Wallet: the group's accounts, last known balances, tokens and networks
//! as its devices synced them, read-only (`crate::wallet_view` decides
//! what shows).

use super::{back_bar, button, messages};
use crate::model::Phone;
use crate::wallet_view::{shown, AccountRow, Shown};
use tandem_ui::view::{el, El};

pub(crate) fn view(p: &Phone) -> El {
    let s = shown(p.sync.as_ref(), &p.group_records, p.now_ms);
    let screen = el("main")
        .class("stack screen")
        .tid("wallet-screen")
        .child(back_bar("Your wallet"))
        .children(messages(p))
        .child(el("p").class("muted small").tid("wallet-about").text(
            "What your devices last read and shared: each balance as of the time its device \
             read it. Read-only on this phone; your computers refresh it when their wallet \
             reads the networks.",
        ));
    if !s.loaded {
        return screen.child(
            el("p")
                .class("muted center-text")
                .tid("wallet-loading")
                .text("Opening sync…"),
        );
    }
    if !s.names_on && !s.balances_on {
        return screen.child(
            el("div")
                .class("stack notice")
                .tid("wallet-off")
                .child(el("p").text(
                    "Sync of balances and account names is off, so this phone has none to \
                     show. Turn on “Last known balances” and “Account names and order” on the \
                     Sync screen: that turns them on for all your devices, and your \
                     computers share them the next time their wallet reads them.",
                ))
                .child(button(
                    "Open the Sync screen",
                    "wallet-sync-open",
                    "sync-open",
                    "btn",
                )),
        );
    }
    let screen = screen
        .maybe((!s.balances_on).then(|| {
            el("p")
                .class("muted small")
                .tid("wallet-balances-off")
                .text(
                    "Last known balances do not sync: turn on “Last known balances” on the Sync \
                 screen to see them here.",
                )
        }))
        .maybe((!s.names_on).then(|| {
            el("p").class("muted small").tid("wallet-names-off").text(
                "Account names do not sync: accounts show by address. Turn on “Account names \
                 and order” on the Sync screen to see their names.",
            )
        }));
    let screen = if s.accounts.is_empty() {
        screen.child(el("p").class("muted").tid("wallet-empty").text(
            "Nothing synced yet: a computer shares its accounts' balances the next time its \
             wallet reads them (open Tandem there), and their names when they change.",
        ))
    } else {
        screen.child(
            el("ul")
                .class("list")
                .tid("wallet-accounts")
                .children(s.accounts.iter().map(account)),
        )
    };
    screen.maybe(tokens(&s)).maybe(networks(&s))
}

fn account(a: &AccountRow) -> El {
    let balances = if a.balances.is_empty() {
        el("p")
            .class("muted small")
            .tid("wallet-no-balance")
            .text("No balance synced yet.")
    } else {
        el("ul").class("list").children(a.balances.iter().map(|b| {
            el("li")
                .class("row")
                .tid(format!("wallet-balance-{}", b.id))
                .child(el("span").class("grow").text(b.network.clone()))
                .child(
                    el("span")
                        .class("amt")
                        .tid("wallet-balance-amount")
                        .text(b.amount.clone()),
                )
                .child(
                    el("span")
                        .class("muted small")
                        .tid("wallet-balance-asof")
                        .text(b.as_of.clone()),
                )
        }))
    };
    el("li")
        .class("stack")
        .tid(format!("wallet-account-{}", a.address.to_lowercase()))
        .child(el("h2").tid("wallet-account-name").text(a.name.clone()))
        .child(
            el("p")
                .class("mono small")
                .tid("wallet-account-address")
                .text(a.address.clone()),
        )
        .child(balances)
}

fn tokens(s: &Shown) -> Option<El> {
    (!s.tokens.is_empty()).then(|| {
        el("section")
            .class("stack")
            .tid("wallet-tokens")
            .child(el("h2").text("Tokens your devices added"))
            .child(el("ul").class("list").children(s.tokens.iter().map(|t| {
                el("li")
                    .class("row")
                    .tid(format!("wallet-token-{}", t.address.to_lowercase()))
                    .child(el("span").class("grow").text(t.label.clone()))
                    .child(el("span").class("muted small").text(t.network.clone()))
                    .child(el("span").class("mono small").text(t.address.clone()))
            })))
    })
}

fn networks(s: &Shown) -> Option<El> {
    (!s.networks.is_empty()).then(|| {
        el("section")
            .class("stack")
            .tid("wallet-networks")
            .child(el("h2").text("Networks your devices added"))
            .child(el("ul").class("list").children(s.networks.iter().map(|n| {
                el("li")
                    .class("stack")
                    .tid(format!("wallet-network-{}", n.chain_id))
                    .child(el("span").text(n.label.clone()))
                    .child(el("span").class("mono small muted").text(n.rpc.clone()))
            })))
    })
}
