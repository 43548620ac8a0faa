//! Activity: the group's signed audit log, the extension's own view (its
//! filters, the findings of the signature and chain checks in red, the
//! JSON and CSV exports), fed from this phone's device engine.

use crate::model::Phone;
use tandem_ui::view::{El, Page, Ui};

pub(crate) fn view(p: &Phone) -> El {
    let mut ui = Ui::new(Page::Popup);
    ui.audit = p.audit.clone();
    ui.utc_offset_min = p.utc_offset_min;
    ui.error = p.error.clone();
    ui.notice = p.notice.clone();
    tandem_ui::audit::audit_screen(&ui)
}
