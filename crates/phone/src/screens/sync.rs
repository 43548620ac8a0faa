//! Sync: the extension's Sync screen (`tandem_ui::sync`), said for a
//! phone: a switch acts for the whole group, and the status line is the
//! phone's own (it counts the Activity log's entries waiting too); the
//! extension's backup section, said for a phone, comes last: the phone
//! writes the backup of its own wallet's phrase (`crate::backup`).

use crate::model::Phone;
use tandem_ui::devices::Here;
use tandem_ui::view::{El, Page, Ui};

pub(crate) fn view(p: &Phone) -> El {
    let mut ui = Ui::new(Page::Popup);
    let backup = p
        .sync
        .as_ref()
        .and_then(|v| v.backup.clone())
        .filter(|_| p.shows_backup());
    // The restore offer is on Home (`crate::restore`); the section goes
    // below the address book.
    ui.sync = p.sync.clone().map(|mut v| {
        v.backup = None;
        v
    });
    ui.now_ms = p.now_ms;
    ui.error = p.error.clone();
    ui.notice = p.notice.clone();
    tandem_ui::sync::sync_screen_at(&ui, Here::Phone, p.sync_status())
        .maybe(backup.map(|b| tandem_ui::backup::section_at(&b, p.now_ms, Here::Phone)))
}
