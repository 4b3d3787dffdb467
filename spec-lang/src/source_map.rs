//! Where each checked node of a spec was written. The IR holds no spans (two
//! specs that mean the same network have equal IRs), so checking returns this
//! beside it: the warnings point at the user's text through it instead of
//! finding statements again by keyword and position.

use crate::ast;
use crate::diagnostic::Span;

/// The spans of every network of a checked file, in the order of
/// [`crate::ir::Program::networks`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceMap {
    /// One per checked network.
    pub networks: Vec<NetworkMap>,
}

impl SourceMap {
    /// The map of network `name`.
    pub fn network(&self, name: &str) -> Option<&NetworkMap> {
        self.networks.iter().find(|n| n.name == name)
    }
}

/// Where a network's parts were written.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkMap {
    /// The network's name.
    pub name: String,
    /// Its name in the `network` line.
    pub span: Span,
    /// Per node of the IR (same indices), the statement that wrote it: none
    /// for an input that was never declared.
    pub nodes: Vec<Option<StatementMap>>,
    /// The `loss` statement.
    pub loss: Option<Span>,
    /// The options of the `train { … }` block.
    pub train: Vec<ast::KeyValue>,
}

/// Where one statement and its options were written.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementMap {
    /// The whole statement.
    pub span: Span,
    /// Its options (`key = value`), as written.
    pub options: Vec<ast::KeyValue>,
}

impl StatementMap {
    pub(crate) fn of(statement: &ast::Statement) -> StatementMap {
        StatementMap { span: statement.span, options: statement.options.clone() }
    }

    /// The span of option `key`'s value, if written.
    pub fn option(&self, key: &str) -> Option<Span> {
        self.options.iter().find(|o| o.key.text == key).map(|o| o.value.span)
    }
}

impl NetworkMap {
    /// The span of node `index`'s statement, else the network's name.
    pub fn node(&self, index: usize) -> Span {
        self.nodes.get(index).and_then(|n| n.as_ref()).map_or(self.span, |s| s.span)
    }

    /// The span of option `key` of node `index`, else its statement's.
    pub fn option(&self, index: usize, key: &str) -> Span {
        self.nodes.get(index).and_then(|n| n.as_ref()).and_then(|s| s.option(key)).unwrap_or_else(|| self.node(index))
    }

    /// `train` option `key`, if written.
    pub fn train_option(&self, key: &str) -> Option<&ast::KeyValue> {
        self.train.iter().find(|o| o.key.text == key)
    }
}
