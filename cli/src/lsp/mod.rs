//! `nnspec lsp`: a language server for `.nn` files on stdin and stdout.
//!
//! Built on rust-analyzer's `lsp-server` (a synchronous message loop over
//! crossbeam channels, no async runtime) and `lsp-types`: the checker is fast
//! and synchronous, so every request is answered from a document analysed on
//! each change ([`analysis::Document`]), and the dependency tree stays small.
//!
//! It answers diagnostics (on open and on every change: the checker's errors
//! and warnings with their codes, UTF-16 ranges, labels as related
//! information and help in the message), hover (a node's op, shape,
//! parameters, FLOPs, memory and doc comment; a constant's value),
//! definition, references and rename of nodes and constants, completion
//! (statement words, a statement's options, activations, losses, optimizers,
//! initializers, schedules, node names in inputs, constants), formatting
//! (`nnspec fmt`'s printer) and document symbols (networks and their nodes,
//! with shapes). A request that fails answers with an error; the server itself
//! never stops on a document's text.

pub mod analysis;

use analysis::{Document, Symbol};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest, References, Rename, Request as _,
};
use lsp_types::*;
use nnspec_lang::vocabulary;
use nnspec_lang::{Severity, Span};
use std::collections::HashMap;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Runs the server on stdin and stdout until the client shuts it down.
pub fn run() -> Result<(), Failure> {
    let (connection, io_threads) = Connection::stdio();
    serve(&connection)?;
    // The writer thread ends when the connection's sender is gone.
    drop(connection);
    io_threads.join()?;
    Ok(())
}

/// What the server offers.
fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["=".into(), "(".into(), ",".into(), " ".into()]),
            ..CompletionOptions::default()
        }),
        ..ServerCapabilities::default()
    }
}

/// The message loop on an initialised connection.
pub fn serve(connection: &Connection) -> Result<(), Failure> {
    connection.initialize(serde_json::to_value(capabilities())?)?;
    // By the URI's text: `Uri` caches its parse inside and makes a poor map key.
    let mut documents: HashMap<String, Document> = HashMap::new();
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    return Ok(());
                }
                let id = request.id.clone();
                // A bug in one answer must not end the session: it becomes an error response.
                let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| answer(&documents, request)));
                let response = match answer {
                    Ok(Ok(result)) => Response::new_ok(id, result),
                    Ok(Err(message)) => Response::new_err(id, ErrorCode::InvalidParams as i32, message),
                    Err(_) => Response::new_err(id, ErrorCode::InternalError as i32, "the request failed".into()),
                };
                connection.sender.send(Message::Response(response))?;
            }
            Message::Notification(notification) => {
                if let Some(uri) = update(&mut documents, notification) {
                    let diagnostics = documents.get(uri.as_str()).map(|d| diagnostics(d, &uri)).unwrap_or_default();
                    let params = PublishDiagnosticsParams { uri, diagnostics, version: None };
                    let note = Notification::new(PublishDiagnostics::METHOD.into(), params);
                    connection.sender.send(Message::Notification(note))?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

/// Applies an open, change or close; returns the document whose diagnostics changed.
fn update(documents: &mut HashMap<String, Document>, notification: Notification) -> Option<Uri> {
    let analyse = |text: String| std::panic::catch_unwind(|| Document::new(text)).ok();
    match notification.method.as_str() {
        DidOpenTextDocument::METHOD => {
            let params: DidOpenTextDocumentParams = serde_json::from_value(notification.params).ok()?;
            let uri = params.text_document.uri;
            documents.insert(uri.as_str().to_string(), analyse(params.text_document.text)?);
            Some(uri)
        }
        DidChangeTextDocument::METHOD => {
            let params: DidChangeTextDocumentParams = serde_json::from_value(notification.params).ok()?;
            let text = params.content_changes.into_iter().last()?.text;
            let uri = params.text_document.uri;
            documents.insert(uri.as_str().to_string(), analyse(text)?);
            Some(uri)
        }
        DidCloseTextDocument::METHOD => {
            let params: DidCloseTextDocumentParams = serde_json::from_value(notification.params).ok()?;
            documents.remove(params.text_document.uri.as_str());
            // Clear what the editor shows for a closed file.
            Some(params.text_document.uri)
        }
        _ => None,
    }
}

fn range(document: &Document, span: Span) -> Range {
    let (start, end) = (document.position(span.start), document.position(span.end));
    Range::new(Position::new(start.0, start.1), Position::new(end.0, end.1))
}

/// The checker's diagnostics as LSP's.
fn diagnostics(document: &Document, uri: &Uri) -> Vec<lsp_types::Diagnostic> {
    document
        .diagnostics
        .iter()
        .map(|d| {
            let mut message = d.message.clone();
            if let Some(label) = &d.primary_label {
                message.push_str(&format!(" ({label})"));
            }
            for note in &d.notes {
                message.push_str(&format!("\nnote: {note}"));
            }
            if let Some(help) = &d.help {
                message.push_str(&format!("\nhelp: {help}"));
            }
            let related: Vec<DiagnosticRelatedInformation> = d
                .labels
                .iter()
                .map(|label| DiagnosticRelatedInformation {
                    location: Location::new(uri.clone(), range(document, label.span)),
                    message: label.message.clone(),
                })
                .collect();
            lsp_types::Diagnostic {
                range: range(document, d.span),
                severity: Some(match d.severity {
                    Severity::Error => DiagnosticSeverity::ERROR,
                    Severity::Warning => DiagnosticSeverity::WARNING,
                }),
                code: Some(NumberOrString::String(d.code.as_str().into())),
                source: Some("nnspec".into()),
                message,
                related_information: (!related.is_empty()).then_some(related),
                ..lsp_types::Diagnostic::default()
            }
        })
        .collect()
}

/// The result of one request, as JSON.
// `WorkspaceEdit::changes` is keyed by `Uri` in lsp-types itself.
#[allow(clippy::mutable_key_type)]
fn answer(documents: &HashMap<String, Document>, request: Request) -> Result<serde_json::Value, String> {
    let params = request.params;
    let document_of = |uri: &Uri| documents.get(uri.as_str()).ok_or_else(|| format!("{} is not open", uri.as_str()));
    let json = |value: serde_json::Result<serde_json::Value>| value.map_err(|e| e.to_string());
    match request.method.as_str() {
        HoverRequest::METHOD => {
            let p: HoverParams = serde_json::from_value(params).map_err(|e| e.to_string())?;
            let position = p.text_document_position_params;
            let document = document_of(&position.text_document.uri)?;
            json(serde_json::to_value(hover(document, position.position)))
        }
        GotoDefinition::METHOD => {
            let p: GotoDefinitionParams = serde_json::from_value(params).map_err(|e| e.to_string())?;
            let position = p.text_document_position_params;
            let (uri, document) = (&position.text_document.uri, document_of(&position.text_document.uri)?);
            let found = symbol_at(document, position.position).and_then(|symbol| {
                let (span, definition) = *document.occurrences_of(&symbol).first()?;
                definition.then(|| GotoDefinitionResponse::Scalar(Location::new(uri.clone(), range(document, span))))
            });
            json(serde_json::to_value(found))
        }
        References::METHOD => {
            let p: ReferenceParams = serde_json::from_value(params).map_err(|e| e.to_string())?;
            let position = p.text_document_position;
            let (uri, document) = (&position.text_document.uri, document_of(&position.text_document.uri)?);
            let locations: Option<Vec<Location>> = symbol_at(document, position.position).map(|symbol| {
                document
                    .occurrences_of(&symbol)
                    .into_iter()
                    .filter(|(_, definition)| p.context.include_declaration || !definition)
                    .map(|(span, _)| Location::new(uri.clone(), range(document, span)))
                    .collect()
            });
            json(serde_json::to_value(locations))
        }
        Rename::METHOD => {
            let p: RenameParams = serde_json::from_value(params).map_err(|e| e.to_string())?;
            let position = p.text_document_position;
            let (uri, document) = (&position.text_document.uri, document_of(&position.text_document.uri)?);
            let valid = p.new_name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && p.new_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "`{}` is not a name: letters, digits and `_`, not starting with a digit",
                    p.new_name
                ));
            }
            let symbol = symbol_at(document, position.position).ok_or("nothing to rename here")?;
            let edits: Vec<TextEdit> = document
                .occurrences_of(&symbol)
                .into_iter()
                .map(|(span, _)| TextEdit::new(range(document, span), p.new_name.clone()))
                .collect();
            let changes = HashMap::from([(uri.clone(), edits)]);
            json(serde_json::to_value(WorkspaceEdit { changes: Some(changes), ..WorkspaceEdit::default() }))
        }
        Formatting::METHOD => {
            let p: DocumentFormattingParams = serde_json::from_value(params).map_err(|e| e.to_string())?;
            let document = document_of(&p.text_document.uri)?;
            let edits =
                nnspec_lang::fmt::format(&document.text).ok().filter(|text| *text != document.text).map(|text| {
                    let end = document.position(document.text.len());
                    vec![TextEdit::new(Range::new(Position::new(0, 0), Position::new(end.0, end.1)), text)]
                });
            json(serde_json::to_value(edits.unwrap_or_default()))
        }
        DocumentSymbolRequest::METHOD => {
            let p: DocumentSymbolParams = serde_json::from_value(params).map_err(|e| e.to_string())?;
            let document = document_of(&p.text_document.uri)?;
            json(serde_json::to_value(DocumentSymbolResponse::Nested(symbols(document))))
        }
        Completion::METHOD => {
            let p: CompletionParams = serde_json::from_value(params).map_err(|e| e.to_string())?;
            let position = p.text_document_position;
            let document = document_of(&position.text_document.uri)?;
            json(serde_json::to_value(CompletionResponse::Array(completion(document, position.position))))
        }
        other => Err(format!("`{other}` is not supported")),
    }
}

/// The node or constant named at `position`.
fn symbol_at(document: &Document, position: Position) -> Option<Symbol> {
    let offset = document.offset(position.line, position.character);
    document.occurrence_at(offset).map(|(_, symbol, _)| symbol.clone())
}

/// Hover: a node's row of `nnspec summary` and its doc comment, or a constant's value.
fn hover(document: &Document, position: Position) -> Option<Hover> {
    let offset = document.offset(position.line, position.character);
    let Some((span, symbol, _)) = document.occurrence_at(offset).cloned() else {
        return word_hover(document, offset);
    };
    let file = document.file.as_ref()?;
    let text = match &symbol {
        Symbol::Constant(name) => {
            let constant = file.constants.iter().find(|c| &c.name.text == name)?;
            let value = &document.text[constant.value.span.start..constant.value.span.end];
            let doc = constant.meta.doc.join("\n");
            format!("```nn\nconst {name} = {value};\n```\n{doc}")
        }
        Symbol::Node { network, name } => {
            let ast_network = &file.networks[*network];
            let statement =
                ast_network.statements.iter().find(|s| s.target.as_ref().is_some_and(|t| &t.text == name))?;
            let doc = statement.meta.doc.join("\n");
            let checked = document.checked.as_ref().and_then(|c| c.program.network(&ast_network.name.text));
            match checked.and_then(|net| net.nodes.iter().position(|n| n.name == *name).map(|i| (net, i))) {
                Some((net, index)) => {
                    let node = &net.nodes[index];
                    let (params, flops) = net.node_costs()[index];
                    let computes = if index == 0 { "input".to_string() } else { crate::convert::describe(net, index) };
                    format!(
                        "**{name}**: `{}` {computes}\n\noutput `{:?}`, {params} parameters, {flops} FLOPs per sample, {} bytes of activations per sample\n\n{doc}",
                        node.op.name(),
                        &node.shape[..],
                        4 * node.width
                    )
                }
                None => format!(
                    "**{name}**: a `{}` statement (shapes once the spec checks)\n\n{doc}",
                    statement.keyword.text
                ),
            }
        }
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text.trim_end().to_string(),
        }),
        range: Some(range(document, span)),
    })
}

/// A statement word, an option, or an activation, loss, optimizer,
/// initializer or schedule name: one line of what it is and its default,
/// from the language's vocabulary (`nnspec_lang::vocabulary::describe`).
fn word_hover(document: &Document, offset: usize) -> Option<Hover> {
    let bytes = document.text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut start = offset.min(bytes.len());
    while start > 0 && is_word(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = offset.min(bytes.len());
    while end < bytes.len() && is_word(bytes[end]) {
        end += 1;
    }
    let word = document.text.get(start..end).filter(|w| !w.is_empty())?;
    // The statement (or train block) the word stands in gives an option its meaning.
    let file = document.file.as_ref();
    let networks = file.map(|f| f.networks.as_slice()).unwrap_or_default();
    let inside = |span: nnspec_lang::Span| span.start <= start && end <= span.end;
    let context = networks.iter().find_map(|network| {
        let statement = network.statements.iter().find(|s| inside(s.span)).map(|s| s.keyword.text.as_str());
        statement.or_else(|| network.train.iter().any(|t| inside(t.span)).then_some("train"))
    });
    let text = nnspec_lang::vocabulary::describe(context, word)?;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: text }),
        range: Some(range(document, nnspec_lang::Span { start, end })),
    })
}

/// Networks with their nodes (shape as detail where the spec checks).
#[allow(deprecated)] // `DocumentSymbol::deprecated` is a required field of the type.
fn symbols(document: &Document) -> Vec<DocumentSymbol> {
    let Some(file) = document.file.as_ref() else { return Vec::new() };
    file.networks
        .iter()
        .map(|network| {
            let checked = document.checked.as_ref().and_then(|c| c.program.network(&network.name.text));
            let children = network
                .statements
                .iter()
                .filter(|s| s.keyword.text != "loss")
                .filter_map(|statement| {
                    let target = statement.target.as_ref()?;
                    let shape = checked
                        .and_then(|net| net.nodes.iter().find(|n| n.name == target.text))
                        .map(|node| format!("{} {:?}", statement.keyword.text, &node.shape[..]));
                    Some(DocumentSymbol {
                        name: target.text.clone(),
                        detail: Some(shape.unwrap_or_else(|| statement.keyword.text.clone())),
                        kind: SymbolKind::VARIABLE,
                        tags: None,
                        deprecated: None,
                        range: range(document, statement.span),
                        selection_range: range(document, target.span),
                        children: None,
                    })
                })
                .collect();
            DocumentSymbol {
                name: network.name.text.clone(),
                detail: Some("network".into()),
                kind: SymbolKind::CLASS,
                tags: None,
                deprecated: None,
                range: range(document, network.span),
                selection_range: range(document, network.name.span),
                children: Some(children),
            }
        })
        .collect()
}

/// What fits at the cursor, from the text before it on its line.
fn completion(document: &Document, position: Position) -> Vec<CompletionItem> {
    let offset = document.offset(position.line, position.character);
    let line_start = document.text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let before = &document.text[line_start..offset];
    // The word being typed is not part of the context.
    let context = before.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
    let trimmed = context.trim_end();
    let keyword = context.split_whitespace().next().unwrap_or("");
    let words = |list: &[&str], kind: CompletionItemKind, detail: &str| -> Vec<CompletionItem> {
        list.iter()
            .map(|word| CompletionItem {
                label: word.to_string(),
                kind: Some(kind),
                detail: Some(detail.to_string()),
                ..CompletionItem::default()
            })
            .collect()
    };
    let network = document.network_at(offset);
    // Text typed half-way does not parse: then the network and its names are found by reading the lines.
    let lexical = document.file.is_none().then(|| lexical_nodes(&document.text[..offset])).flatten();
    let in_network = network.is_some() || lexical.is_some();
    // Nodes defined above the cursor in its network, and the file's constants.
    let nodes = || -> Vec<CompletionItem> {
        if let Some(names) = &lexical {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            return words(&names, CompletionItemKind::VARIABLE, "node");
        }
        let names: Vec<&str> = document
            .occurrences
            .iter()
            .filter(|(span, symbol, definition)| {
                *definition
                    && span.end <= offset
                    && matches!(symbol, Symbol::Node { network: n, .. } if Some(*n) == network)
            })
            .filter_map(|(_, symbol, _)| match symbol {
                Symbol::Node { name, .. } => Some(name.as_str()),
                Symbol::Constant(_) => None,
            })
            .collect();
        words(&names, CompletionItemKind::VARIABLE, "node")
    };
    let constants = || -> Vec<CompletionItem> {
        let names: Vec<&str> = document
            .file
            .as_ref()
            .map(|f| f.constants.iter().map(|c| c.name.text.as_str()).collect())
            .unwrap_or_default();
        words(&names, CompletionItemKind::CONSTANT, "constant")
    };
    if trimmed.ends_with("activation =") {
        return words(vocabulary::Activation::NAMES, CompletionItemKind::FUNCTION, "activation");
    }
    if trimmed.ends_with("init =") {
        return words(vocabulary::Init::NAMES, CompletionItemKind::FUNCTION, "initializer");
    }
    if trimmed.ends_with("optimizer =") {
        return words(vocabulary::OptimizerConfig::NAMES, CompletionItemKind::FUNCTION, "optimizer");
    }
    if trimmed.ends_with("schedule =") {
        return words(vocabulary::schedules(), CompletionItemKind::FUNCTION, "schedule");
    }
    if keyword == "loss" && trimmed == "loss" {
        return words(vocabulary::Loss::NAMES, CompletionItemKind::FUNCTION, "loss");
    }
    // Inside the parentheses of a statement's inputs.
    if context.rfind('(').is_some_and(|open| !context[open..].contains(')')) && in_network {
        return nodes();
    }
    if trimmed.ends_with(':') || trimmed.ends_with('=') {
        return constants();
    }
    if trimmed.ends_with(',') {
        let keyword = if context.contains("train") { "train" } else { keyword };
        return words(vocabulary::options(keyword), CompletionItemKind::PROPERTY, "option");
    }
    if trimmed.is_empty() && in_network {
        let mut items = words(vocabulary::statements(), CompletionItemKind::KEYWORD, "statement");
        items.extend(words(vocabulary::Activation::NAMES, CompletionItemKind::KEYWORD, "activation statement"));
        items.extend(words(&["train"], CompletionItemKind::KEYWORD, "train block"));
        return items;
    }
    if trimmed.is_empty() {
        return words(&["network", "const"], CompletionItemKind::KEYWORD, "item");
    }
    Vec::new()
}

/// The names the statements of the network open at the end of `before`
/// define, read line by line (for text that does not parse yet); `None`
/// outside a network.
fn lexical_nodes(before: &str) -> Option<Vec<String>> {
    let start = before.rfind("network ")?;
    let body = &before[start..];
    let depth = body.matches('{').count() as isize - body.matches('}').count() as isize;
    if depth <= 0 || !body.contains('{') {
        return None;
    }
    let statements = vocabulary::statements();
    let names = body
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let keyword = words.next()?;
            if keyword == "loss" || !(statements.contains(&keyword) || vocabulary::Activation::NAMES.contains(&keyword))
            {
                return None;
            }
            let name: String = words.next()?.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            (!name.is_empty()).then_some(name)
        })
        .collect();
    Some(names)
}
