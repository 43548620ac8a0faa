//! Plain-English help: losing a device, being phished, what to do.

use super::{back_bar, button};
use tandem_ui::view::{el, El};

const TOPICS: [(&str, &str); 6] = [
    (
        "If you lose this phone",
        "On your computer, open Tandem → Devices and revoke this phone (choose “Lost”; \
         tick “also erase” if someone may have it). It is cut off at once and the group \
         key rotates. Your wallet is safe as long as your recovery phrase is.",
    ),
    (
        "If you lose every device",
        "With the Activity log and sync on, this phone keeps a backup of what syncs and of \
         the log on the relay, encrypted under a key from its recovery phrase (Sync shows \
         “Backup: saved …”). Import the phrase on a new phone or browser: it says what the \
         backup holds and restores it: account names, tokens and networks show under \
         Balances, the address book under Sync. Then tap “Cut off other devices” there.",
    ),
    (
        "If you lose your computer",
        "Here, revoke it under Devices (choose “Lost”, and “also erase the wallet on that \
         device”). If it comes back online, it erases its wallet and says who asked.",
    ),
    (
        "If someone sends you a QR code or link to scan",
        "Only scan a code that your own computer shows right now, from Tandem → Devices → \
         Pair a phone. Tandem asks you to compare a 6-digit code on both screens: if they \
         differ, tap “They differ” and nothing is paired.",
    ),
    (
        "If you think you were phished",
        "Revoke every device you do not recognise (choose “Compromised”). If you ever typed \
         your recovery phrase into a website, move your funds to a new wallet: nobody, \
         including Tandem, ever needs your phrase.",
    ),
    (
        "What the relay sees",
        "Device ids, when they connect, and the size of encrypted messages. Never keys, \
         names or contents.",
    ),
];

pub(super) fn view() -> El {
    el("main")
        .class("stack screen help")
        .tid("help-screen")
        .child(back_bar("Help"))
        .child(
            el("section")
                .class("stack")
                .child(el("h2").text("Your recovery phrase"))
                .child(el("p").text(
                    "The 12 words that restore this wallet on any device. Tandem shows them \
                     again after you type your password.",
                ))
                .child(button(
                    "Show recovery phrase",
                    "reveal-open",
                    "reveal-open",
                    "btn",
                )),
        )
        .children(TOPICS.iter().map(|(q, a)| {
            el("section")
                .class("stack")
                .child(el("h2").text(*q))
                .child(el("p").text(*a))
        }))
}
