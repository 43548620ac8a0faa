//! The virtual DOM the views build: `dom` turns a [`Node`] into real
//! elements; tests inspect it directly.

/// A virtual DOM node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// An element.
    El(El),
    /// A text node (always set as text, never parsed as HTML).
    Text(String),
}

/// A virtual element.
#[derive(Debug, Clone, PartialEq)]
pub struct El {
    /// Tag name.
    pub tag: &'static str,
    /// Attributes in order.
    pub attrs: Vec<(&'static str, String)>,
    /// Children.
    pub children: Vec<Node>,
}

/// Starts an element.
pub fn el(tag: &'static str) -> El {
    El {
        tag,
        attrs: Vec::new(),
        children: Vec::new(),
    }
}

impl El {
    /// Adds an attribute.
    pub fn attr(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.attrs.push((k, v.into()));
        self
    }
    /// Sets `class`.
    pub fn class(self, c: &str) -> Self {
        self.attr("class", c)
    }
    /// Sets the stable test id.
    pub fn tid(self, id: impl Into<String>) -> Self {
        self.attr("data-testid", id)
    }
    /// Click (or submit, on a form) dispatches the string `action`: the
    /// phone app's actions, and the pairing views it shares with the
    /// extension. The extension's own views attach a typed
    /// [`Action`](crate::view::Action) with `El::on`.
    pub fn action(self, action: &str) -> Self {
        self.attr("data-action", action)
    }
    /// Click dispatches `action` with `arg`.
    pub fn action_arg(self, action: &str, arg: impl Into<String>) -> Self {
        self.attr("data-action", action).attr("data-arg", arg)
    }
    /// Adds a text child.
    pub fn text(mut self, t: impl Into<String>) -> Self {
        self.children.push(Node::Text(t.into()));
        self
    }
    /// Adds a child element.
    pub fn child(mut self, c: El) -> Self {
        self.children.push(Node::El(c));
        self
    }
    /// Adds an optional child element.
    pub fn maybe(self, c: Option<El>) -> Self {
        match c {
            Some(c) => self.child(c),
            None => self,
        }
    }
    /// Adds child elements.
    pub fn children(mut self, cs: impl IntoIterator<Item = El>) -> Self {
        self.children.extend(cs.into_iter().map(Node::El));
        self
    }
    /// Reads an attribute.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(a, _)| *a == k)
            .map(|(_, v)| v.as_str())
    }
    /// Finds a descendant (or self) by test id.
    pub fn find(&self, testid: &str) -> Option<&El> {
        if self.get("data-testid") == Some(testid) {
            return Some(self);
        }
        self.children.iter().find_map(|c| match c {
            Node::El(e) => e.find(testid),
            Node::Text(_) => None,
        })
    }
    /// All text below this element, concatenated.
    pub fn text_content(&self) -> String {
        let mut s = String::new();
        for c in &self.children {
            match c {
                Node::Text(t) => s.push_str(t),
                Node::El(e) => s.push_str(&e.text_content()),
            }
        }
        s
    }
    /// Every test id below this element, in document order.
    pub fn testids(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(t) = self.get("data-testid") {
            v.push(t.to_owned());
        }
        for c in &self.children {
            if let Node::El(e) = c {
                v.extend(e.testids());
            }
        }
        v
    }
}
