//! The language server's latency on a 1,000-line spec, measured as an editor
//! sees it: `nnspec lsp` is started, and each request's time is from writing
//! it on the server's stdin to reading its answer (for an edit, to reading
//! the diagnostics it publishes). Medians and maxima of 21 runs
//! (`NNSPEC_BENCH_QUICK=1`: 3 runs, to check that it runs).
//!
//! `cargo bench -p nnspec-cli --bench lsp`

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// A spec of about 1,000 lines: constants, then networks of dense layers,
/// activations and residual joins with a train block each.
fn big_spec() -> String {
    let mut text = String::from("const WIDTH = 32;\nconst RATE = 0.001;\n\n");
    let mut network = 0;
    while text.lines().count() < 1000 {
        text.push_str(&format!(
            "/// Network {network}: a residual stack.\nnetwork Stack{network} {{\n    input x: [16];\n"
        ));
        text.push_str("    dense embed: WIDTH, activation = relu;\n");
        for block in 0..6 {
            let from = if block == 0 { "embed".to_string() } else { format!("join{}", block - 1) };
            text.push_str(&format!("    layer_norm norm{block}({from});\n"));
            text.push_str(&format!("    dense mix{block}: WIDTH, activation = gelu;\n"));
            text.push_str(&format!("    add join{block}({from}, mix{block});\n"));
        }
        text.push_str("    dense out: 4;\n    loss softmax_cross_entropy;\n");
        text.push_str("    train { optimizer = adam(lr = RATE), batch = 32, epochs = 10 }\n}\n\n");
        network += 1;
    }
    text
}

struct Server {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: i64,
}

impl Server {
    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("the server reads");
        self.stdin.flush().expect("the server reads");
    }

    fn receive(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.stdout.read_line(&mut line).expect("the server writes");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.parse().expect("a length");
            }
        }
        let mut body = vec![0; length];
        self.stdout.read_exact(&mut body).expect("a message");
        serde_json::from_slice(&body).expect("JSON")
    }

    /// Sends a request and waits for its answer; the time it took.
    fn request(&mut self, method: &str, params: Value) -> (Duration, Value) {
        self.next_id += 1;
        let id = self.next_id;
        let start = Instant::now();
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive();
            if message["id"] == json!(id) {
                return (start.elapsed(), message);
            }
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a notification and waits for the diagnostics it causes.
    fn notify_until_diagnostics(&mut self, method: &str, params: Value) -> Duration {
        let start = Instant::now();
        self.notify(method, params);
        loop {
            if self.receive()["method"] == "textDocument/publishDiagnostics" {
                return start.elapsed();
            }
        }
    }
}

/// The zero-based (line, UTF-16 column) of the `occurrence`-th `needle`, plus `offset` characters (ASCII text).
fn position_of(text: &str, needle: &str, occurrence: usize, offset: usize) -> Value {
    let index = text.match_indices(needle).nth(occurrence).expect("the needle is in the spec").0 + offset;
    let line = text[..index].matches('\n').count();
    let column = index - text[..index].rfind('\n').map_or(0, |i| i + 1);
    json!({"line": line, "character": column})
}

fn main() {
    let runs = if std::env::var_os("NNSPEC_BENCH_QUICK").is_some() { 3 } else { 21 };
    let spec = big_spec();
    let lines = spec.lines().count();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nnspec"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("nnspec lsp starts");
    let mut server = Server {
        stdin: child.stdin.take().expect("stdin"),
        stdout: BufReader::new(child.stdout.take().expect("stdout")),
        next_id: 0,
    };
    server.request("initialize", json!({"capabilities": {}}));
    server.notify("initialized", json!({}));
    let uri = "file:///bench/big.nn";
    let document = json!({"uri": uri});
    let opened = server.notify_until_diagnostics(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "nn", "version": 1, "text": spec}}),
    );
    println!("language server on a {lines}-line spec ({} bytes), {runs} runs each", spec.len());
    println!("open → diagnostics: {:.2} ms", opened.as_secs_f64() * 1e3);

    let use_of_node = position_of(&spec, "add join3(join2", 0, 10);
    let constant = position_of(&spec, "WIDTH = 32", 0, 0);
    let option = position_of(&spec, "activation = gelu", 5, 0);
    let completion_at = position_of(&spec, "activation = gelu", 5, 13);
    let requests: Vec<(&str, &str, Value)> = vec![
        ("hover on a node", "textDocument/hover", json!({"textDocument": document, "position": use_of_node})),
        ("hover on an option", "textDocument/hover", json!({"textDocument": document, "position": option})),
        ("go to definition", "textDocument/definition", json!({"textDocument": document, "position": use_of_node})),
        (
            "references of a constant",
            "textDocument/references",
            json!({"textDocument": document, "position": constant, "context": {"includeDeclaration": true}}),
        ),
        (
            "rename a constant",
            "textDocument/rename",
            json!({"textDocument": document, "position": constant, "newName": "W"}),
        ),
        ("completion", "textDocument/completion", json!({"textDocument": document, "position": completion_at})),
        (
            "formatting",
            "textDocument/formatting",
            json!({"textDocument": document, "options": {"tabSize": 4, "insertSpaces": true}}),
        ),
        ("document symbols", "textDocument/documentSymbol", json!({"textDocument": document})),
    ];
    let report = |what: &str, mut times: Vec<Duration>| {
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{what:<28} median {:>7.2} ms   max {:>7.2} ms",
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        );
    };
    for (what, method, params) in &requests {
        let mut times = Vec::new();
        for _ in 0..runs {
            let (time, answer) = server.request(method, params.clone());
            assert!(answer.get("error").is_none(), "{what}: {answer}");
            assert!(!answer["result"].is_null(), "{what}: no answer");
            times.push(time);
        }
        report(what, times);
    }
    // An edit: one character typed and taken back, each answered with fresh diagnostics.
    let mut times = Vec::new();
    for version in 0..runs {
        let text = if version % 2 == 0 { spec.replacen("epochs = 10", "epochs = 11", 1) } else { spec.clone() };
        times.push(server.notify_until_diagnostics(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version + 2}, "contentChanges": [{"text": text}]}),
        ));
    }
    report("edit → diagnostics", times);
    server.request("shutdown", Value::Null);
    server.notify("exit", Value::Null);
    let _ = child.wait();
}
