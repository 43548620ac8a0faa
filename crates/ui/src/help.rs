//! Settings → Help: plain-English answers for this browser. What happens
//! if you lose it, your phone or every device, if this browser was cut off
//! from the backup, if someone sends you a pairing link or you think you
//! were phished, and what the relay sees. Every name in quotes is the label
//! of a button or choice the popup shows (`tests/help.rs` renders those
//! screens and finds each one). The phone app has its own Help
//! (`crates/phone/src/screens/help.rs`), written for the phone.

use crate::view::{back_bar, el, El};

/// The topics: (question, answer), in the order shown.
pub const TOPICS: [(&str, &str); 7] = [
    (
        "If you lose this computer",
        "On your phone or another browser of yours, open Devices and revoke this browser: \
         choose “Lost” and tick “Also erase the wallet on that device”. It is cut off at once: \
         the group key rotates, and the encrypted backup moves to a new key the next time one \
         of your other browsers is unlocked. If this computer comes online again, it erases \
         its wallet. Your funds are safe as long as your recovery phrase and your password are.",
    ),
    (
        "If you lose your phone",
        "Here, open “Devices” from Home, press “Revoke” next to your phone, choose “Lost” and \
         tick “Also erase the wallet on that device”. The phone is cut off at once and the \
         group key rotates. Your funds are safe as long as your recovery phrase and your \
         password are. To use a new phone, install Tandem on it and pair it with \
         “Pair a phone”.",
    ),
    (
        "If you lose every device",
        "Your funds are on the blockchain, and your recovery phrase brings them back. Install \
         Tandem in a new browser, choose “I already have a wallet” and type your recovery \
         phrase. If Tandem finds your encrypted backup, it says what it holds: press \
         “Restore”. Then open Settings → “Sync” and press “Cut off other devices”: the backup \
         moves to a new key that only your recovery phrase gives, so the lost devices can no \
         longer read it.",
    ),
    (
        "If this browser says it was cut off from the backup",
        "Settings → Sync says “Backup: this browser was cut off” when a browser outside this \
         wallet group restored this wallet from its recovery phrase and moved the backup to a \
         new key. If that was you, turn the backup on again with the wallet unlocked: this \
         browser follows it. If it was not you, someone else has your recovery phrase: move \
         your funds to a new wallet now.",
    ),
    (
        "If someone sends you a link or QR code to pair",
        "Pairing adds a device to your wallet. Only pair a code that one of your own devices \
         shows right now: your phone scans the QR code this browser shows under “Pair a phone”. \
         Never paste a link someone sent you under “Add a device from a link”: it would add \
         their device. Both screens then show a 6-digit code: compare them. If they differ, or \
         the other screen shows none, press “They differ” and nothing is paired.",
    ),
    (
        "If you think you were phished",
        "If a site asks for something you did not start, press “Reject”. Open Devices and \
         revoke every device you do not recognise (choose “Compromised”). If you ever typed \
         your recovery phrase into a website or gave it to anyone, move your funds to a new \
         wallet now: nobody, Tandem included, ever needs your phrase.",
    ),
    (
        "What the relay sees",
        "Device ids and which wallet group they belong to, when they connect, the network \
         address they connect from, and the times and sizes of encrypted messages. Never your \
         keys, device names or what the messages say. Of the backup: an id, the public key \
         that checks its writes, its size and when it was written; what it holds is encrypted \
         under a key only your recovery phrase gives.",
    ),
];

/// The Help screen: the back bar and one `section` per topic.
pub fn help_screen() -> El {
    el("div")
        .class("stack screen help")
        .tid("help-screen")
        .child(back_bar("Help"))
        .children(TOPICS.iter().map(|(q, a)| {
            el("section")
                .class("stack")
                .tid("help-topic")
                .child(el("h2").text(*q))
                .child(el("p").text(*a))
        }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WalletState;
    use crate::view::{view, Action, Node, Page, Screen, Ui};

    /// An unlocked wallet's popup on `screen`.
    fn popup(screen: Screen) -> Ui {
        let mut ui = Ui::new(Page::Popup);
        ui.state = Some(WalletState {
            initialized: true,
            unlocked: true,
            ..Default::default()
        });
        ui.screen = screen;
        ui.route();
        assert_eq!(ui.screen, screen, "an unlocked wallet keeps {screen:?}");
        ui
    }

    fn els(e: &El) -> Vec<&El> {
        e.children
            .iter()
            .filter_map(|n| match n {
                Node::El(x) => Some(x),
                Node::Text(_) => None,
            })
            .collect()
    }

    #[test]
    fn every_topic_is_a_section_with_its_question_and_answer() {
        let page = view(&popup(Screen::Help), "");
        assert_eq!(page.get("data-screen"), Some("help"));
        let screen = page.find("help-screen").unwrap();
        assert_eq!(
            screen.find("back-button").unwrap().get("data-action"),
            Some("back")
        );
        let sections: Vec<&El> = els(screen)
            .into_iter()
            .filter(|e| e.tag == "section")
            .collect();
        assert_eq!(sections.len(), TOPICS.len());
        for (s, (q, a)) in sections.iter().zip(TOPICS) {
            let parts = els(s);
            assert_eq!(parts.iter().map(|e| e.tag).collect::<Vec<_>>(), ["h2", "p"]);
            assert_eq!(parts[0].text_content(), q);
            assert_eq!(parts[1].text_content(), a);
        }
    }

    #[test]
    fn settings_opens_help_and_the_screen_name_reads_back() {
        let page = view(&popup(Screen::Settings), "");
        let b = page.find("open-help").unwrap();
        assert_eq!(b.tag, "button");
        assert_eq!(b.text_content(), "Help");
        let action = Action::parse(b.get("data-action").unwrap(), b.get("data-arg").unwrap());
        assert_eq!(action, Some(Action::Open(Screen::Help)));
        assert_eq!(Screen::Help.name(), "help");
        let (name, arg) = Action::Open(Screen::Help).encode();
        assert_eq!(
            Action::parse(name, arg.as_deref().unwrap_or("")),
            Some(Action::Open(Screen::Help))
        );
    }

    #[test]
    fn the_topics_cover_losing_a_device_the_backup_pairing_phishing_and_the_relay() {
        let all: String = TOPICS.iter().map(|(q, a)| format!("{q} {a} ")).collect();
        for needle in [
            "lose this computer",
            "lose your phone",
            "lose every device",
            "cut off from the backup",
            "link or QR code to pair",
            "phished",
            "relay sees",
            "group key rotates",
            "backup moves to a new key",
            "6-digit code",
            "move your funds to a new wallet",
            "nobody, Tandem included, ever needs your phrase",
        ] {
            assert!(all.contains(needle), "no {needle:?}");
        }
    }
}
