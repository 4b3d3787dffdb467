//! A fuzz target over the graph ops and both emitters: specs using every op
//! (convolutions, pools, norms, sums, concatenations, recurrent layers,
//! standardisation) and hostile names and docs, mutated token-wise from a
//! fixed seed. Every mutation that checks must plan, run forward and backward
//! in the interpreter, emit Rust that parses, and emit Python that compiles
//! (checked by the Python interpreter, not executed); nothing may panic.
//!
//! Deterministic: the same mutations on every run, so a failure is the same
//! everywhere. `NNSPEC_FUZZ_CASES` sets how many (default 2,000).

use nnspec::{Loss, Model, Workspace};
use std::path::Path;
use std::process::Command;

/// Seeds: the graph networks of the conformance suite, the names that
/// collide with generated code, and docs and names aimed at the emitters.
fn seeds() -> Vec<String> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance-tests/tests/data");
    let mut seeds: Vec<String> = ["graphs.nn", "hostile_names.nn"]
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(data.join(file)).expect("a seed spec");
            // One network per seed: mutations stay cheap and local.
            let mut blocks = Vec::new();
            let mut current = String::new();
            for line in text.lines() {
                current.push_str(line);
                current.push('\n');
                if line == "}" {
                    blocks.push(std::mem::take(&mut current));
                }
            }
            blocks
        })
        .collect();
    seeds.push(
        "/// \"\"\" + str(__import__(\"os\").system(\"exit 3\")) + \"\"\" \\N{BULLET} \\x41\n\
         network forward {\n    input input: [3, 6];\n    conv1d self: 4, kernel = 3, padding = 1;\n    batch_norm Self;\n    \
         relu;\n    gru state_dict: 3, sequence = true;\n    lstm _: 2, bidirectional = true;\n    dense nn: 2;\n    loss mse;\n}\n"
            .to_string(),
    );
    seeds.push(
        "#[doc = \"a\\rb\\u{0}c\"]\nnetwork torch {\n    input F: [2, 5, 5];\n    conv2d eval: 3, kernel = 2, stride = 2, padding = 1, groups = 1;\n    \
         avg_pool2d to, kernel = 2;\n    global_avg_pool training;\n    standardize parameters;\n    dense h_dropout: 3;\n    dropout(0.5);\n    \
         dense out: 2;\n    loss softmax_cross_entropy;\n}\n"
            .to_string(),
    );
    seeds
}

/// Words a mutation puts in: every statement word and its options (from
/// the checker's own lists), sizes at the edges, and names and text the
/// emitters must escape.
fn tokens() -> Vec<&'static str> {
    let vocabulary = nnspec_lang::vocabulary::statements();
    let mut tokens: Vec<&'static str> = vocabulary.to_vec();
    tokens.extend(vocabulary.iter().flat_map(|statement| nnspec_lang::vocabulary::options(statement)));
    tokens.extend([
        "relu",
        "tanh",
        "sigmoid",
        "gelu",
        "softmax",
        "=",
        ",",
        ";",
        ":",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "0",
        "1",
        "2",
        "3",
        "7",
        "-1",
        "0.5",
        "1e9",
        "9007199254740991",
        "true",
        "false",
        "x",
        "input",
        "forward",
        "self",
        "Self",
        "_",
        "nn",
        "torch",
        "F",
        "__init__",
        "state_dict",
        "h_dropout",
        "///",
        "\"\"\"",
        "\\N",
        "\r",
        "é",
    ]);
    tokens
}

/// splitmix64: a fixed stream of mutation choices.
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// `source` with one to four tokens replaced, inserted or deleted.
fn mutate(source: &str, tokens: &[&str], stream: &mut Stream) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in source.chars() {
        if c.is_alphanumeric() || c == '_' || c == '.' {
            word.push(c);
        } else {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            words.push(c.to_string());
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    for _ in 0..1 + stream.below(4) {
        let at = stream.below(words.len());
        let token = tokens[stream.below(tokens.len())].to_string();
        match stream.below(3) {
            0 => words[at] = token,
            1 => words.insert(at, token),
            _ => {
                if words.len() > 1 {
                    words.remove(at);
                }
            }
        }
    }
    words.concat()
}

fn targets(model: &dyn Model, rows: usize) -> Vec<f32> {
    if model.loss_kind().takes_labels() {
        (0..rows).map(|i| (i % model.output_size().max(1)) as f32).collect()
    } else if matches!(model.loss_kind(), Loss::BinaryCrossEntropy | Loss::BinaryCrossEntropyWithLogits) {
        (0..rows * model.output_size()).map(|i| (i % 2) as f32).collect()
    } else {
        (0..rows * model.output_size()).map(|i| (i % 5) as f32 * 0.3 - 0.6).collect()
    }
}

#[test]
fn mutated_graph_specs_run_and_emit_for_both_targets() {
    let cases: usize = std::env::var("NNSPEC_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let (seeds, tokens) = (seeds(), tokens());
    let mut stream = Stream(0x6e6e_7370_6563);
    let mut modules = Vec::new();
    let mut checked = 0;
    for case in 0..cases {
        let source = mutate(&seeds[case % seeds.len()], &tokens, &mut stream);
        let Ok(program) = nnspec_lang::check_source(&source).map(|c| c.program) else { continue };
        checked += 1;
        for net in &program.networks {
            // Sizes a mutation blew up are the checker's and the memory check's
            // business (tested elsewhere), not this target's.
            let plan = net.plan();
            if plan.param_count > 100_000 || plan.slots.iter().sum::<usize>() > 100_000 {
                continue;
            }
            let mut model = nnspec_cli::convert::network(net);
            model.init_params(1);
            let rows = 3;
            let x: Vec<f32> = (0..rows * model.input_size()).map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0).collect();
            let mut out = vec![0.0; rows * model.output_size()];
            model.adapt(&x, rows);
            model.forward(&x, &mut out, &mut Workspace::default());
            let mut grad = vec![0.0; model.param_count()];
            model.loss_and_grad(&x, &targets(&model, rows), Some(&mut grad), &mut Workspace::new(1), true);
        }
        let rust = nnspec_codegen::generate(&program);
        if let Err(error) = syn::parse2::<syn::File>(rust) {
            panic!("the Rust emitted for this spec does not parse ({error}):\n{source}");
        }
        modules.push((source, nnspec_codegen::pytorch::pytorch_module(&program, "fuzz\n\"\"\"spec.nn")));
    }
    assert!(checked * 20 > cases, "only {checked} of {cases} mutations checked: the mutations are too coarse");
    // Every Python module compiles (`compile`, never `exec`: nothing runs).
    let directory = std::env::temp_dir().join(format!("nnspec-emit-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    for (index, (_, module)) in modules.iter().enumerate() {
        std::fs::write(directory.join(format!("m{index}.py")), module).unwrap();
    }
    let python = std::env::var("NNSPEC_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import sys, pathlib\n\
                  bad = []\n\
                  for path in sorted(pathlib.Path(sys.argv[1]).glob('m*.py')):\n\
                  \x20   try:\n\
                  \x20       compile(path.read_bytes(), str(path), 'exec')\n\
                  \x20   except (SyntaxError, ValueError) as e:\n\
                  \x20       bad.append(f'{path.name}: {e}')\n\
                  print('\\n'.join(bad))\n";
    let output = Command::new(&python).arg("-c").arg(script).arg(&directory).output().expect("a Python interpreter");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let bad = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if let Some(first) = bad.lines().next() {
        let index: usize = first.trim_start_matches('m').split('.').next().unwrap().parse().unwrap();
        panic!("{} emitted modules do not compile; the first:\n{first}\n{}", bad.lines().count(), modules[index].0);
    }
    std::fs::remove_dir_all(&directory).unwrap();
    eprintln!("{cases} mutations, {checked} checked, {} modules compiled", modules.len());
}
