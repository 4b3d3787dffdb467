//! The build-script API: compile `.nn` files into `OUT_DIR`.
//!
//! ```no_run
//! // build.rs
//! nnspec_codegen::Builder::new()
//!     .file("specs/planar.nn")
//!     .compile()
//!     .unwrap_or_else(|error| panic!("{error}"));
//! // src/main.rs: include!(concat!(env!("OUT_DIR"), "/planar.rs"));
//! ```
//!
//! Each `specs/NAME.nn` becomes `OUT_DIR/NAME.rs` holding every network of the
//! file (and, with [`Builder::pytorch`], `OUT_DIR/NAME.py`, its PyTorch module). Cargo is told to rerun the script when a spec changes; on errors the
//! rendered diagnostics go to stderr (cargo shows them) and `compile` fails.

use std::fmt;
use std::path::{Path, PathBuf};

/// Compiles `.nn` files from a build script.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    files: Vec<PathBuf>,
    weights: Vec<(PathBuf, PathBuf)>,
    out_dir: Option<PathBuf>,
    cargo_output: bool,
    pytorch: bool,
}

/// Why a build failed: the rendered diagnostics or an I/O error.
#[derive(Debug)]
pub struct BuildError {
    message: String,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildError {}

impl Builder {
    /// A builder that prints `cargo:` instructions and writes to `OUT_DIR`.
    pub fn new() -> Builder {
        Builder { files: Vec::new(), weights: Vec::new(), out_dir: None, cargo_output: true, pytorch: false }
    }

    /// Adds a spec file (relative to the crate root when run by cargo).
    pub fn file(mut self, path: impl AsRef<Path>) -> Builder {
        self.files.push(path.as_ref().to_path_buf());
        self
    }

    /// Adds a spec file whose network gets the trained weights of a safetensors
    /// file, checked now and embedded (`Network::trained()`); with an int8
    /// weight file (`nnspec quantize`'s), `{Network}Int8`, its integer-only
    /// inference. The build reruns when either file changes.
    pub fn file_with_weights(mut self, spec: impl AsRef<Path>, weights: impl AsRef<Path>) -> Builder {
        self.files.push(spec.as_ref().to_path_buf());
        self.weights.push((spec.as_ref().to_path_buf(), weights.as_ref().to_path_buf()));
        self
    }

    /// Writes to this directory instead of `OUT_DIR`.
    pub fn out_dir(mut self, path: impl AsRef<Path>) -> Builder {
        self.out_dir = Some(path.as_ref().to_path_buf());
        self
    }

    /// Turns the `cargo:rerun-if-changed` lines on or off (on by default).
    pub fn cargo_output(mut self, on: bool) -> Builder {
        self.cargo_output = on;
        self
    }

    /// Also writes each spec's PyTorch module, `NAME.py` beside `NAME.rs` (as
    /// `nnspec emit --target pytorch` does; see docs/scale-out.md).
    pub fn pytorch(mut self, on: bool) -> Builder {
        self.pytorch = on;
        self
    }

    /// Compiles every file; returns the paths written.
    pub fn compile(self) -> Result<Vec<PathBuf>, BuildError> {
        let out_dir = match self.out_dir.clone().or_else(|| std::env::var_os("OUT_DIR").map(PathBuf::from)) {
            Some(dir) => dir,
            None => {
                return Err(BuildError { message: "OUT_DIR is not set; call `out_dir` outside a build script".into() })
            }
        };
        let mut written = Vec::new();
        let mut failures = Vec::new();
        // ONNX models become a spec and a weight file in OUT_DIR, compiled as any spec with its weights.
        let mut files = Vec::new();
        let mut weights = self.weights.clone();
        for file in &self.files {
            if !file.extension().is_some_and(|e| e.eq_ignore_ascii_case("onnx")) {
                files.push(file.clone());
                continue;
            }
            if self.cargo_output {
                println!("cargo:rerun-if-changed={}", file.display());
            }
            match import_onnx(file, &out_dir) {
                Ok((spec, weight_file)) => {
                    weights.push((spec.clone(), weight_file));
                    files.push(spec);
                }
                Err(problem) => failures.push(problem),
            }
        }
        for file in &files {
            if self.cargo_output && !weights.iter().any(|(spec, _)| spec == file && spec.starts_with(&out_dir)) {
                println!("cargo:rerun-if-changed={}", file.display());
            }
            let bytes = match std::fs::read(file) {
                Ok(bytes) => bytes,
                Err(error) => {
                    failures.push(format!("cannot read `{}`: {error}", file.display()));
                    continue;
                }
            };
            let source = String::from_utf8_lossy(&bytes).into_owned();
            match nnspec_lang::check_bytes(&bytes) {
                Ok(checked) => {
                    for warning in &checked.warnings {
                        let text =
                            nnspec_lang::render(std::slice::from_ref(warning), &file.display().to_string(), &source);
                        if self.cargo_output {
                            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                                println!("cargo:warning={line}");
                            }
                        }
                    }
                    let int8 = weights.iter().find(|(spec, w)| spec == file && crate::weights::is_int8(w));
                    let embedded = match weights.iter().find(|(spec, _)| spec == file) {
                        Some(_) if int8.is_some() => None,
                        Some((_, weights)) => {
                            if self.cargo_output && !weights.starts_with(&out_dir) {
                                println!("cargo:rerun-if-changed={}", weights.display());
                            }
                            let display = weights.display().to_string();
                            let embedded = crate::weights::target(&checked.program, weights, None)
                                .map_err(|e| vec![e])
                                .and_then(|net| crate::weights::embed(net, weights, &display));
                            match embedded {
                                Ok(embedded) => Some(embedded),
                                Err(problems) => {
                                    failures.push(format!(
                                        "{}: the weights do not match:\n  - {}",
                                        display,
                                        problems.join("\n  - ")
                                    ));
                                    continue;
                                }
                            }
                        }
                        None => None,
                    };
                    let code = match int8 {
                        Some((_, weights)) => {
                            if self.cargo_output {
                                println!("cargo:rerun-if-changed={}", weights.display());
                            }
                            match crate::weights::int8_code(
                                &checked.program,
                                weights,
                                &weights.display().to_string(),
                                None,
                            ) {
                                Ok(code) => code.to_string(),
                                Err(problem) => {
                                    failures.push(problem);
                                    continue;
                                }
                            }
                        }
                        None => crate::generate_with(&checked.program, embedded.as_ref()).to_string(),
                    };
                    let stem = file.file_stem().map_or_else(|| "network".into(), |s| s.to_string_lossy().into_owned());
                    let target = out_dir.join(format!("{stem}.rs"));
                    let header = format!("// Generated by nnspec-codegen from {}. Do not edit.\n", file.display());
                    if let Err(error) = std::fs::write(&target, header + &code) {
                        failures.push(format!("cannot write `{}`: {error}", target.display()));
                        continue;
                    }
                    written.push(target);
                    if self.pytorch {
                        let module = out_dir.join(format!("{stem}.py"));
                        let name = file.file_name().map_or_else(|| stem.clone(), |n| n.to_string_lossy().into_owned());
                        if let Err(error) =
                            std::fs::write(&module, crate::pytorch::pytorch_module(&checked.program, &name))
                        {
                            failures.push(format!("cannot write `{}`: {error}", module.display()));
                            continue;
                        }
                        written.push(module);
                    }
                }
                Err(diagnostics) => {
                    failures.push(nnspec_lang::render(&diagnostics, &file.display().to_string(), &source));
                }
            }
        }
        if failures.is_empty() {
            Ok(written)
        } else {
            let message = failures.join("\n");
            eprintln!("{message}");
            Err(BuildError { message })
        }
    }
}

/// Imports the ONNX model `file` into `out_dir` as `STEM.nn` and `STEM.safetensors`.
fn import_onnx(file: &Path, out_dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
    let imported =
        crate::import::import(&bytes, &crate::import::Options::from_path(file)).map_err(|e| e.to_string())?;
    let stem = file.file_stem().map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    let (spec, weights) = (out_dir.join(format!("{stem}.nn")), out_dir.join(format!("{stem}.safetensors")));
    std::fs::write(&spec, &imported.spec).map_err(|e| format!("cannot write `{}`: {e}", spec.display()))?;
    std::fs::write(&weights, &imported.weights).map_err(|e| format!("cannot write `{}`: {e}", weights.display()))?;
    Ok((spec, weights))
}

#[cfg(test)]
mod tests {
    use super::Builder;

    #[test]
    fn pytorch_writes_the_module_beside_the_rust_code() {
        let directory = std::env::temp_dir().join(format!("nnspec-builder-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let spec = directory.join("tiny.nn");
        std::fs::write(&spec, "network Tiny { input x: [2]; dense out: 1; loss mse; }").unwrap();
        let written =
            Builder::new().cargo_output(false).out_dir(&directory).pytorch(true).file(&spec).compile().unwrap();
        assert_eq!(written, [directory.join("tiny.rs"), directory.join("tiny.py")]);
        let module = std::fs::read_to_string(directory.join("tiny.py")).unwrap();
        assert!(
            module.contains("class Tiny(nn.Module):") && module.contains("NETWORKS = {\"Tiny\": Tiny}"),
            "{module}"
        );
        let without = Builder::new().cargo_output(false).out_dir(&directory).file(&spec).compile().unwrap();
        assert_eq!(without, [directory.join("tiny.rs")]);
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
