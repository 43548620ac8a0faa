//! Sync: the extension's Sync screen (`tandem_ui::sync`), said for a
//! phone: a switch acts for the whole group, and the status line is the
//! phone's own (it counts the Activity log's entries waiting too), and
//! no backup section.

use crate::model::Phone;
use tandem_ui::devices::Here;
use tandem_ui::view::{El, Page, Ui};

pub(crate) fn view(p: &Phone) -> El {
    let mut ui = Ui::new(Page::Popup);
    // The backup under the recovery phrase is the computers' (written by
    // the extension from its wallet's phrase, which may not be this
    // phone's): the phone's engine has no key for it, and says nothing.
    ui.sync = p.sync.clone().map(|mut v| {
        v.backup = None;
        v
    });
    ui.now_ms = p.now_ms;
    ui.error = p.error.clone();
    ui.notice = p.notice.clone();
    tandem_ui::sync::sync_screen_at(&ui, Here::Phone, p.sync_status())
}
