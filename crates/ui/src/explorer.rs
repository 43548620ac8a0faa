//! Links from Activity to the network's block explorer, for networks that
//! have one. The URL is the network's (checked as https when it was saved,
//! checked again here: an `http:` or `javascript:` URL is never a link).

use crate::model::Network;
use crate::view::{el, El};

/// `{explorer}/tx/{hash}` when the network has an https explorer and the
/// hash is 32 bytes of hex.
pub fn tx_url(net: &Network, hash: &str) -> Option<String> {
    let base = net.explorer.as_deref()?.trim_end_matches('/');
    let host = base.strip_prefix("https://")?;
    let ok_host = !host.is_empty()
        && !host.contains(['@', '?', '#', '"', '<', '>', '\\'])
        && !host.chars().any(|c| c.is_whitespace() || c.is_control());
    let ok_hash = hash.len() == 66
        && hash.starts_with("0x")
        && hash[2..].chars().all(|c| c.is_ascii_hexdigit());
    (ok_host && ok_hash).then(|| format!("{base}/tx/{hash}"))
}

/// The "View on explorer" link of an activity row (opens a new tab).
pub fn tx_link(net: &Network, hash: &str) -> Option<El> {
    let url = tx_url(net, hash)?;
    Some(
        el("a")
            .class("small")
            .attr("href", url)
            .attr("target", "_blank")
            .attr("rel", "noopener noreferrer")
            .tid(format!("activity-explorer-{hash}"))
            .text("View on explorer"),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn net(explorer: Option<&str>) -> Network {
        Network {
            explorer: explorer.map(Into::into),
            ..crate::model::unknown_network()
        }
    }

    const H: &str = "0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b";

    #[test]
    fn https_explorers_link_to_the_transaction() {
        assert_eq!(
            tx_url(&net(Some("https://etherscan.io/")), H).unwrap(),
            format!("https://etherscan.io/tx/{H}")
        );
        let a = tx_link(&net(Some("https://etherscan.io")), H).unwrap();
        assert_eq!(a.get("rel"), Some("noopener noreferrer"));
        assert_eq!(a.text_content(), "View on explorer");
    }

    #[test]
    fn no_link_without_an_https_explorer_or_with_a_bad_hash() {
        assert!(tx_url(&net(None), H).is_none());
        assert!(tx_url(&net(Some("http://etherscan.io")), H).is_none());
        assert!(tx_url(&net(Some("javascript:alert(1)//")), H).is_none());
        assert!(tx_url(&net(Some("https://")), H).is_none());
        assert!(tx_url(&net(Some("https://etherscan.io")), "0x12").is_none());
        assert!(tx_url(&net(Some("https://etherscan.io")), &format!("{H}\"")).is_none());
    }
}
