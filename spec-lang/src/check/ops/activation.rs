//! An activation as a statement of its own: `relu r;`, `leaky_relu(0.2) r(h);`.

use super::*;

impl<'a> Checker<'a, '_> {
    /// An activation as a statement of its own: `relu r;`, `leaky_relu(0.2) r(h);`.
    pub(in crate::check) fn activation_node(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
        let keyword = statement.keyword.text.as_str();
        self.no_options(statement, &format!("write `{keyword} NAME;`"));
        self.no_value(statement, format!("its width is its input's: write `{keyword} NAME;`"));
        let activation = self.activation_named(&statement.keyword, statement.args.as_deref().unwrap_or_default());
        let input = self.single_input(statement, pending);
        let Some(activation) = activation else { return };
        let source = &pending.nodes[input];
        let name = statement.target.as_ref().map_or_else(|| format!("{}.{keyword}", source.name), |t| t.text.clone());
        let node = Node::new(name, Op::Activation(activation), &[input], source.width).with_shape(&source.shape);
        self.push_node(statement, node, pending);
    }
}
