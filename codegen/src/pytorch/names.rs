//! Python names for what a spec names: every text from a spec or a file name
//! reaches the emitted module as an escaped string literal ([`string`]) or as
//! a generated identifier that cannot collide with Python's keywords and
//! builtins, the module's own names or `nn.Module`'s members ([`Names`]).

use nnspec_lang::ir::{Network, Op, Program};
use std::collections::HashSet;
use std::fmt::Write as _;

/// A Python string literal (double-quoted) that reads back as `text`: quotes,
/// backslashes, line ends, control characters and the invisible characters
/// that change how a line reads (bidirectional controls, separators) escaped.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{200b}'..='\u{200f}')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                let code = c as u32;
                if code <= 0xffff {
                    write!(out, "\\u{code:04x}").unwrap();
                } else {
                    write!(out, "\\U{code:08x}").unwrap();
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Python's keywords (soft keywords included).
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "match", "case", "type", "_",
];

/// Python's builtins (a class of that name would hide one the module uses).
const BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BaseExceptionGroup",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "BytesWarning",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "DeprecationWarning",
    "EOFError",
    "Ellipsis",
    "EncodingWarning",
    "EnvironmentError",
    "Exception",
    "ExceptionGroup",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "NotADirectoryError",
    "NotImplemented",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "PermissionError",
    "ProcessLookupError",
    "PythonFinalizationError",
    "RecursionError",
    "ReferenceError",
    "ResourceWarning",
    "RuntimeError",
    "RuntimeWarning",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "ZeroDivisionError",
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "exit",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "vars",
    "zip",
];

/// The names the emitted module defines or imports at its top level.
const MODULE_GLOBALS: &[&str] = &[
    "torch",
    "nn",
    "F",
    "argparse",
    "sys",
    "os",
    "json",
    "math",
    "safetensors",
    "numpy",
    "np",
    "NETWORKS",
    "Standardize",
    "adapt",
    "nnspec_state",
    "nnspec_grads",
    "save_nnspec",
    "load_nnspec",
    "read_csv",
    "train",
    "main",
];

/// `nn.Module`'s members and the emitted class's own: a submodule of one of
/// these names would replace a method PyTorch or the module calls.
const MODULE_MEMBERS: &[&str] = &[
    "T_destination",
    "add_module",
    "apply",
    "bfloat16",
    "buffers",
    "call_super_init",
    "children",
    "compile",
    "cpu",
    "cuda",
    "double",
    "dump_patches",
    "eval",
    "extra_repr",
    "float",
    "forward",
    "get_buffer",
    "get_extra_state",
    "get_parameter",
    "get_submodule",
    "half",
    "ipu",
    "load_state_dict",
    "modules",
    "mtia",
    "named_buffers",
    "named_children",
    "named_modules",
    "named_parameters",
    "parameters",
    "register_backward_hook",
    "register_buffer",
    "register_forward_hook",
    "register_forward_pre_hook",
    "register_full_backward_hook",
    "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook",
    "register_module",
    "register_parameter",
    "register_state_dict_post_hook",
    "register_state_dict_pre_hook",
    "requires_grad_",
    "set_extra_state",
    "set_submodule",
    "share_memory",
    "state_dict",
    "to",
    "to_empty",
    "train",
    "training",
    "type",
    "xpu",
    "zero_grad",
    "NNSPEC_NAME",
    "NNSPEC_NODES",
    "NNSPEC_DENSE_WEIGHTS",
    "INPUT_SHAPE",
    "LOSS",
    "TRAIN",
    "reset_parameters",
    "loss",
    "loss_of",
    "make_optimizer",
    "make_scheduler",
    "penalty",
    "clip_gradients",
    "x",
    "self",
    "logits",
];

/// True for an ASCII identifier.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `name` with every character that cannot be in an ASCII identifier replaced by `_`.
fn sanitized(name: &str) -> String {
    let text: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    text.trim_matches('_').to_string()
}

/// Takes `preferred` if it is free, else `preferred_2`, `preferred_3`, …
fn unique(preferred: String, taken: &mut HashSet<String>) -> String {
    let mut candidate = preferred.clone();
    let mut k = 2;
    while taken.contains(&candidate) {
        candidate = format!("{preferred}_{k}");
        k += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

/// The class name of each network: its own name where that is a safe
/// identifier, else a mangled one (`NETWORKS` keys by the spec's name).
pub fn classes(program: &Program) -> Vec<String> {
    let mut taken: HashSet<String> =
        KEYWORDS.iter().chain(BUILTINS).chain(MODULE_GLOBALS).map(|s| s.to_string()).collect();
    let safe = |name: &str| is_identifier(name) && !name.starts_with('_') && !taken_static(name);
    let mut names = vec![String::new(); program.networks.len()];
    for (k, net) in program.networks.iter().enumerate() {
        if safe(&net.name) && taken.insert(net.name.clone()) {
            names[k] = net.name.clone();
        }
    }
    for (k, net) in program.networks.iter().enumerate() {
        if names[k].is_empty() {
            let base = sanitized(&net.name);
            let base = if base.is_empty() { "Network".to_string() } else { format!("{base}_network") };
            names[k] = unique(base, &mut taken);
        }
    }
    names
}

fn taken_static(name: &str) -> bool {
    KEYWORDS.contains(&name) || BUILTINS.contains(&name) || MODULE_GLOBALS.contains(&name)
}

/// The Python names of one network's nodes.
pub struct Names {
    /// The submodule attribute of each node that has one (`None` for the others).
    pub attributes: Vec<Option<String>>,
    /// The local variable holding each node's value in `forward`.
    pub values: Vec<String>,
}

/// True for the ops that own a submodule (parameters, state or a mode).
pub fn has_submodule(op: &Op) -> bool {
    matches!(
        op,
        Op::Dense { .. }
            | Op::Recurrent(_)
            | Op::Conv { .. }
            | Op::LayerNorm { .. }
            | Op::BatchNorm { .. }
            | Op::Standardize
            | Op::Dropout(_)
    )
}

impl Names {
    /// Names every node of `net`: a submodule keeps its node's name where that
    /// is a safe identifier no member of `nn.Module` has, else gets a generated
    /// one; a value is `v<index>_<name>`, unique by its index.
    pub fn of(net: &Network) -> Names {
        let reserved = |name: &str| {
            !is_identifier(name) || name.starts_with('_') || KEYWORDS.contains(&name) || MODULE_MEMBERS.contains(&name)
        };
        let mut taken: HashSet<String> = HashSet::new();
        let mut attributes = vec![None; net.nodes.len()];
        for (k, node) in net.nodes.iter().enumerate() {
            // Exact names first, so a generated name (`h_dropout` for `h.dropout`) never takes one.
            if has_submodule(&node.op) && !reserved(&node.name) {
                taken.insert(node.name.to_string());
                attributes[k] = Some(node.name.to_string());
            }
        }
        for (k, node) in net.nodes.iter().enumerate() {
            if has_submodule(&node.op) && attributes[k].is_none() {
                let base = sanitized(&node.name);
                let base = if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
                    format!("node_{base}")
                } else {
                    base
                };
                let base = if reserved(&base) { format!("{base}_node") } else { base };
                attributes[k] = Some(unique(base, &mut taken));
            }
        }
        let values = net
            .nodes
            .iter()
            .enumerate()
            .map(|(k, node)| {
                let name = sanitized(&node.name);
                if name.is_empty() {
                    format!("v{k}")
                } else {
                    format!("v{k}_{name}")
                }
            })
            .collect();
        Names { attributes, values }
    }

    /// The attribute of node `k` (which has a submodule).
    pub fn attribute(&self, k: usize) -> &str {
        self.attributes[k].as_deref().expect("a node with a submodule")
    }
}
